"""Checking scraped captions: the campaign's own rules always, OpenAI when it is on and paid for.

Due: a post whose caption came from a scrape (``caption_hash`` set) and has not been checked since
it last changed (``caption_verdict`` unchecked). Each check is reserve → call → record: one unit of
the guild's weekly OpenAI budget is debited (committed) before the call, OpenAI is called with no
transaction open, and the verdict is recorded only if the caption is still the one that was checked.

- A caption that breaks the rules (a required tag missing, a banned word) fails without costing an
  OpenAI call; so does nothing else: a blank caption passes.
- OPENAI_API_KEY unset, or the weekly budget spent: the rules decide alone ("pass").
- OpenAI unreachable or refusing: "warn" with the reason, so a person reads it; never an exception.
A "fail" flags the post for review (tracking.captions.record_caption_verdict).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from django.conf import settings

from core.tenancy import guild_scope, rls_bypass
from guilds.budgets import debit_budget, record_usage
from integrations.errors import IntegrationError
from integrations.openai.client import CaptionChecker, checker_from_settings
from tracking.captions import caption_rule_problems, record_caption_verdict
from tracking.models import Post

log = structlog.get_logger(__name__)

BATCH = 200
V = Post.CaptionVerdict
COULD_NOT_CHECK = "the caption could not be checked automatically; a person should read it"


@dataclass
class CaptionCheckSummary:
    checked: int = 0
    failed: int = 0
    openai_calls: int = 0


def check_due_captions(*, guild_id: int | None = None, limit: int = BATCH) -> CaptionCheckSummary:
    """Check every due caption (of one guild, or of every guild with some), ``limit`` per guild."""
    with rls_bypass(reason="caption checks: guilds with unchecked captions"):
        due = Post.objects.filter(caption_verdict=V.UNCHECKED).exclude(caption_hash="")
        if guild_id is not None:
            due = due.filter(guild_id=guild_id)
        guild_ids = list(due.values_list("guild_id", flat=True).distinct().order_by("guild_id"))
    summary = CaptionCheckSummary()
    for gid in guild_ids:
        check_captions(guild_id=gid, limit=limit, summary=summary)
    return summary


def check_captions(
    *,
    guild_id: int,
    post_ids: Iterable[int] | None = None,
    limit: int = BATCH,
    summary: CaptionCheckSummary | None = None,
) -> CaptionCheckSummary:
    """Check the guild's due captions (only ``post_ids`` when given). Never raises for a vendor problem."""
    summary = summary or CaptionCheckSummary()
    with guild_scope(guild_id):
        due = (
            Post.objects.for_guild(guild_id)
            .filter(caption_verdict=V.UNCHECKED)
            .exclude(caption_hash="")
            .exclude(status=Post.Status.REJECTED)
            .select_related("client_account", "campaign")
            .only(
                "id",
                "guild_id",
                "caption",
                "caption_hash",
                "client_account__required_tags",
                "client_account__banned_words",
                "campaign__required_tags",
                "campaign__banned_words",
            )
            .order_by("id")
        )
        if post_ids is not None:
            due = due.filter(id__in=list(post_ids))
        checker = _LazyChecker()
        for post in due[:limit]:
            verdict, reasons, called = _check(post, checker)
            summary.openai_calls += called
            if record_caption_verdict(post=post, checked_hash=post.caption_hash, verdict=verdict, reasons=reasons):
                summary.checked += 1
                summary.failed += verdict == V.FAIL
    return summary


class _LazyChecker:
    """The OpenAI checker, built on first use and shared by one run's captions."""

    def __init__(self) -> None:
        self._checker: CaptionChecker | None = None

    def check_language(self, *, caption: str):
        self._checker = self._checker or checker_from_settings()
        return self._checker.check_language(caption=caption)


def _check(post: Post, checker: _LazyChecker) -> tuple[str, list[str], int]:
    """(verdict, reasons, OpenAI calls made) for one caption. The rules are the brief's: the post's
    campaign's tags and words, or its client account's for a post submitted to no campaign."""
    rules = post.campaign if post.campaign_id else post.client_account
    problems = caption_rule_problems(
        caption=post.caption, required_tags=rules.required_tags or [], banned_words=rules.banned_words or []
    )
    if problems:
        return V.FAIL, problems, 0
    if not post.caption.strip() or not settings.OPENAI_API_KEY:
        return V.PASS, [], 0
    if not debit_budget(guild=post.guild_id, kind="openai_calls"):  # reserve: committed before the call
        return V.PASS, [], 0
    try:
        answer = checker.check_language(caption=post.caption)
    except IntegrationError as error:
        log.warning("caption_check_failed", guild_id=post.guild_id, post=post.pk, error=str(error))
        return V.WARN, [COULD_NOT_CHECK, f"OpenAI: {error.message}"], 1
    if answer.tokens_used:
        record_usage(guild=post.guild_id, openai_tokens_used=answer.tokens_used)
    return answer.verdict, list(answer.reasons), 1
