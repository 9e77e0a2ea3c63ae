"""The caption check of a submission: the campaign's own rules always, OpenAI when it is on and paid for.

``check_caption`` never refuses anything and never raises for a vendor problem: it returns a verdict
(pass / warn / fail), the reasons, and notes saying what was skipped and why. The caller decides what a
verdict means (tracking.services.submit_post flags a "fail" for review).

Budget: one OpenAI call is one unit of the guild's weekly ``openai_calls`` budget, debited before the
call; the tokens it used are added to the day's usage after it. Captions that already break the
campaign's rules, and blank captions, never reach OpenAI and cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from django.conf import settings

from guilds.budgets import debit_budget, record_usage
from integrations.errors import IntegrationError
from integrations.openai.client import CaptionChecker, local_caption_rules
from tracking.models import ClientAccount

log = structlog.get_logger(__name__)

SKIPPED = "AI caption check skipped: "


@dataclass(frozen=True)
class CaptionResult:
    """``verdict`` is "pass", "warn" or "fail"; ``reasons`` explain it; ``notes`` say what was skipped."""

    verdict: str
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    called_openai: bool = False
    tokens_used: int = 0


def make_caption_checker() -> CaptionChecker:
    """The OpenAI caption checker from settings (tests replace this to fake the HTTP transport)."""
    return CaptionChecker(
        api_key=settings.OPENAI_API_KEY,
        model=settings.OPENAI_MODEL,
        timeout_s=settings.DEFAULT_OUTBOUND_HTTP_TIMEOUT_MS / 1000,
    )


def check_caption(*, guild_id: int, caption: str, client_account: ClientAccount) -> CaptionResult:
    """Check ``caption`` against ``client_account``'s required tags and banned words, then its language.

    - A rule broken → "fail" with the reasons, no OpenAI call.
    - OPENAI_API_KEY unset, or the guild's weekly OpenAI budget spent → the local rules only, with the
      note "AI caption check skipped: <why>".
    - OpenAI fails (timeout, 5xx, bad key...) → "warn" with a note; never an exception.
    Runs in the caller's guild scope (budget rows are the guild's).
    """
    rules = {"required_tags": client_account.required_tags or [], "banned_words": client_account.banned_words or []}
    local = local_caption_rules(caption=caption, **rules)
    if local:
        return CaptionResult(verdict="fail", reasons=local)
    if not caption.strip():
        return CaptionResult(verdict="pass")
    if not settings.OPENAI_API_KEY:
        return CaptionResult(verdict="pass", notes=[SKIPPED + "caption checks with OpenAI are not configured."])
    if not debit_budget(guild=guild_id, kind="openai_calls"):
        return CaptionResult(verdict="pass", notes=[SKIPPED + "this server's weekly OpenAI budget is spent."])
    return _ask_openai(guild_id=guild_id, caption=caption, **rules)


def _ask_openai(*, guild_id: int, caption: str, required_tags: list, banned_words: list) -> CaptionResult:
    try:
        answer = make_caption_checker().check_caption(
            caption=caption, required_tags=required_tags, banned_words=banned_words
        )
    except IntegrationError as error:
        log.warning("caption_check_failed", guild_id=guild_id, error=str(error))
        return CaptionResult(
            verdict="warn",
            reasons=["the caption could not be checked automatically; a person should read it"],
            notes=[f"AI caption check failed: {error.message}"],
            called_openai=True,
        )
    if answer.tokens_used:
        record_usage(guild=guild_id, openai_tokens_used=answer.tokens_used)
    return CaptionResult(
        verdict=answer.verdict,
        reasons=list(answer.reasons),
        called_openai=answer.called_openai,
        tokens_used=answer.tokens_used,
    )
