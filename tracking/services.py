"""Writes about posts: the one submission service behind every surface, and staff review.

``submit_post`` is what the bot API, the slash command and the dashboard all call; ``review_post`` is
what the API, the dashboard and the admin call to approve, reject, flag or finalize. Both run inside
the caller's tenancy scope (``guild_scope(guild_id)``; staff work in a logged ``rls_bypass``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.values import FieldsRefused, flag, json_safe, money, whole_number
from guilds.audit import record_audit
from guilds.models import Creator, Guild
from guilds.notifications import notify
from tracking.captions import CaptionResult, check_caption
from tracking.lifecycle import TransitionRefused, transition_post
from tracking.models import ClientAccount, FraudSignal, Post, PostStatusChange, Profile
from tracking.platforms import registry
from tracking.post_urls import HandleError, ParsedPostUrl, PostUrlError, parse_post_url, parse_profile_handle
from tracking.screenshots import UploadedScreenshot, check_screenshot, store_screenshot
from tracking.submission_errors import SubmissionRefused

__all__ = [
    "CLIENT_ACCOUNT_FIELDS",
    "MAX_CAPTION_CHARS",
    "ClientAccountRefused",
    "ReviewConflict",
    "ReviewRefused",
    "SubmissionRefused",
    "SubmissionResult",
    "UploadedScreenshot",
    "clean_client_account",
    "review_post",
    "save_client_account",
    "submit_post",
]

MAX_CAPTION_CHARS = 5000  # above every platform's own limit (YouTube: 5000, TikTok: 4000, Instagram: 2200)
S = Post.Status


@dataclass(frozen=True)
class SubmissionResult:
    """``created`` is False when the same creator sent the same post again (a retried request)."""

    post: Post
    created: bool
    caption_verdict: str
    notes: list[str] = field(default_factory=list)


def submit_post(
    *,
    guild_id: int,
    creator: Creator,
    url: str,
    client_account_id: int,
    caption: str = "",
    screenshot: UploadedScreenshot | None = None,
    actor: str,
    now: datetime | None = None,
) -> SubmissionResult:
    """Record a creator's post for tracking, or refuse it with ``SubmissionRefused(code, message)``.

    Refused: a link that is not a post; a creator with no verified profile on the platform, or a link
    naming a handle that is not one of their verified handles; a post (or pending short link) already
    submitted in this guild — "Already submitted by @maya on 2026-11-20." — except that the same creator
    sending the same post for the same client account gets the existing post back (``created=False``),
    so retried requests are harmless; a client account that is not this guild's or is inactive; a
    screenshot that is empty, too large or not an image.

    A caption that FAILS the caption check does not refuse the submission: the post is created, flagged
    for review (status flagged, a FraudSignal of kind caption) and the reasons are stored on the post.

    One transaction: a refusal or any error leaves no post, status change, screenshot row or
    notification behind. The post is due for its first refresh at once (``next_refresh_at = now``) and
    counts views until ``now + client_account.counting_window_days``. Queues a logs-channel message.
    """
    now = now or timezone.now()
    guild_id = int(guild_id)
    parsed = _parse(url)
    caption = (caption or "").strip()
    _check_inputs(caption=caption, screenshot=screenshot)
    if creator.guild_id != guild_id:
        raise SubmissionRefused("not_a_member", "You are not a tracked member of this server.")
    try:
        client_account_id = int(client_account_id)
    except (TypeError, ValueError):
        raise _account_not_found() from None
    with transaction.atomic():
        guild = Guild.objects.filter(pk=guild_id, active=True).first()
        if guild is None:
            raise SubmissionRefused("unknown_guild", "This server is not set up for tracking.")
        profile = _profile_for(guild_id=guild_id, creator=creator, parsed=parsed)
        existing = _existing(guild=guild, creator=creator, parsed=parsed, client_account_id=client_account_id)
        if existing is not None:
            return existing
        client_account = _client_account(guild_id=guild_id, client_account_id=client_account_id)
        verdict = check_caption(guild_id=guild_id, caption=caption, client_account=client_account)
        post = _create_post(
            guild=guild,
            creator=creator,
            profile=profile,
            client_account=client_account,
            parsed=parsed,
            url=url,
            caption=caption,
            verdict=verdict,
            actor=actor,
            now=now,
        )
        if screenshot is not None:
            store_screenshot(
                post=post,
                data=screenshot.data,
                content_type=screenshot.content_type,
                filename=screenshot.filename,
                discord_url=screenshot.discord_url,
            )
        _announce(post=post, creator=creator, verdict=verdict)
    return SubmissionResult(post=post, created=True, caption_verdict=verdict.verdict, notes=list(verdict.notes))


def _parse(url: str) -> ParsedPostUrl:
    try:
        return parse_post_url(url)
    except PostUrlError as error:
        raise SubmissionRefused(error.code, error.message, field="url") from None


def _check_inputs(*, caption: str, screenshot: UploadedScreenshot | None) -> None:
    """The checks that need no database, done before anything is read, spent or written."""
    if len(caption) > MAX_CAPTION_CHARS:
        raise SubmissionRefused(
            "caption_too_long",
            f"The caption is {len(caption)} characters; the limit is {MAX_CAPTION_CHARS}.",
            field="caption",
        )
    if screenshot is not None:
        check_screenshot(data=screenshot.data, content_type=screenshot.content_type, discord_url=screenshot.discord_url)


def _profile_for(*, guild_id: int, creator: Creator, parsed: ParsedPostUrl) -> Profile:
    """The creator's verified profile the post belongs to (the one the link names, when it names one)."""
    spec = registry.get(parsed.platform)
    verified = list(
        Profile.objects.for_guild(guild_id)
        .filter(creator=creator, platform=spec.key, verification_status=Profile.Verification.VERIFIED)
        .order_by("verified_at", "pk")
    )
    if not verified:
        raise SubmissionRefused(
            "no_verified_profile",
            f"You have no verified {spec.label} account. Link it with /link, put the code in your bio, "
            "and submit again once it is verified.",
            field="url",
        )
    if parsed.handle is None:
        return verified[0]  # the link names no account: the first scrape checks the author
    for profile in verified:
        if parsed.handle in (profile.handle, profile.platform_user_id):
            return profile
    handles = ", ".join(f"@{p.handle}" for p in verified)
    raise SubmissionRefused(
        "not_your_handle",
        f"That {spec.label} post is by @{parsed.handle}, which is not one of your verified accounts "
        f"(verified: {handles}).",
        field="url",
    )


def _existing(*, guild: Guild, creator: Creator, parsed: ParsedPostUrl, client_account_id: int) -> Any:
    """None when the post is new here; the retry's result for the same creator; else a refusal."""
    same = Q(canonical_url=parsed.canonical_url)
    if parsed.external_id:
        same |= Q(external_id=parsed.external_id)
    post = Post.objects.for_guild(guild).filter(same, platform=parsed.platform).select_related("creator").first()
    if post is None:
        return None
    if post.creator_id == creator.pk and post.client_account_id == client_account_id:
        day = post.submitted_at.astimezone(guild.tz).date().isoformat()
        return SubmissionResult(
            post=post,
            created=False,
            caption_verdict=post.caption_verdict,
            notes=[f"You already submitted this post on {day}."],
        )
    raise _duplicate(post, guild)


def _duplicate(post: Post, guild: Guild) -> SubmissionRefused:
    day = post.submitted_at.astimezone(guild.tz).date().isoformat()
    return SubmissionRefused("duplicate", f"Already submitted by @{post.creator.username} on {day}.", field="url")


def _client_account(*, guild_id: int, client_account_id: int) -> ClientAccount:
    account = ClientAccount.objects.for_guild(guild_id).filter(pk=client_account_id).first()
    if account is None:  # another guild's account is "not found" too: its existence is not ours to tell
        raise _account_not_found()
    if not account.active:
        raise SubmissionRefused(
            "client_account_inactive",
            f"The client account {account.name} is not taking submissions any more. Pick an active one.",
            field="client_account_id",
        )
    return account


def _account_not_found() -> SubmissionRefused:
    return SubmissionRefused(
        "client_account_not_found",
        "That client account does not exist in this server. Pick one from the list.",
        field="client_account_id",
    )


def _create_post(
    *,
    guild: Guild,
    creator: Creator,
    profile: Profile,
    client_account: ClientAccount,
    parsed: ParsedPostUrl,
    url: str,
    caption: str,
    verdict: CaptionResult,
    actor: str,
    now: datetime,
) -> Post:
    post = Post(
        guild=guild,
        creator=creator,
        profile=profile,
        client_account=client_account,
        platform=parsed.platform,
        external_id=parsed.external_id,
        submitted_url=url.strip()[:2048],
        canonical_url=parsed.canonical_url,
        needs_resolution=parsed.needs_resolution,
        caption=caption,
        caption_verdict=verdict.verdict,
        caption_reasons=list(verdict.reasons),
        status=S.SUBMITTED,
        submitted_at=now,
        counting_ends_at=now + timedelta(days=client_account.counting_window_days),
        next_refresh_at=now,
    )
    try:
        with transaction.atomic():
            post.save(force_insert=True)
    except IntegrityError:
        # A concurrent submission of the same post won the race between our check and our insert.
        winner = (
            Post.objects.for_guild(guild)
            .select_related("creator")
            .get(platform=parsed.platform, external_id=parsed.external_id)
        )
        raise _duplicate(winner, guild) from None
    PostStatusChange.objects.create(
        guild_id=guild.pk, post=post, from_status="", to_status=S.SUBMITTED, reason="submitted", actor=actor[:120]
    )
    if verdict.verdict == "fail":
        reason = "Caption check failed: " + "; ".join(verdict.reasons)
        transition_post(post=post, to_status=S.FLAGGED, reason=reason, actor="caption check")
        FraudSignal.objects.create(guild_id=guild.pk, post=post, kind=FraudSignal.Kind.CAPTION, reason=reason[:500])
    return post


def _announce(*, post: Post, creator: Creator, verdict: CaptionResult) -> None:
    why = f" ({'; '.join(verdict.reasons)})" if verdict.reasons else ""
    lines = [post.canonical_url, f"Caption: {verdict.verdict}{why}"]
    if post.status == S.FLAGGED:
        lines.append("Flagged for review.")
    notify(
        guild_id=post.guild_id,
        kind="submission",
        event_key=f"submission:{post.pk}",
        title=f"@{creator.username} submitted a {post.get_platform_display()} post",
        body="\n".join(lines),
    )


# --- review ---------------------------------------------------------------------------------------

ReviewAction = Literal["approve", "reject", "flag", "finalize"]


class ReviewRefused(ValueError):
    """A review request we refuse; ``message`` is for the reviewer. Bad input (unknown action, missing
    reason) is a plain ReviewRefused (HTTP 400); a move the post cannot make is a ``ReviewConflict``."""

    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


class ReviewConflict(ReviewRefused, TransitionRefused):
    """The post cannot make that move from its current status (HTTP 409)."""

    def __init__(self, message: str):
        super().__init__(message, code="transition_refused")


# action → (statuses it may start from (None: whatever the lifecycle allows), target status)
_REVIEW: dict[str, tuple[frozenset[str] | None, str]] = {
    "approve": (frozenset({S.FLAGGED, S.REJECTED}), S.TRACKING),
    "reject": (None, S.REJECTED),
    "flag": (None, S.FLAGGED),
    "finalize": (None, S.FINALIZED),
}


@transaction.atomic
def review_post(*, post: Post, action: ReviewAction, reason: str, actor: str, request=None) -> Post:
    """Apply a reviewer's decision to ``post`` and audit it (DashboardAuditLog with before/after).

    approve: flagged (or rejected by mistake) → tracking, and the post's open FraudSignals are resolved
    by ``actor``; reject: → rejected, a reason is required; flag: → flagged; finalize: → finalized (no
    more refreshes). Asking for the status the post already has changes and records nothing.
    Raises ``ReviewRefused`` with a message for the reviewer: for bad input (unknown action, no reason
    for a rejection), or its subclass ``ReviewConflict`` (also a ``TransitionRefused``) for a move the
    post cannot make from where it is.
    """
    if action not in _REVIEW:
        raise ReviewRefused(
            f"Unknown review action {action!r}; use approve, reject, flag or finalize.", code="unknown_action"
        )
    reason = (reason or "").strip()
    if action == "reject" and not reason:
        raise ReviewRefused("Say why the post is rejected; the creator will see the reason.", code="reason_required")
    post = Post.objects.for_guild(post.guild_id).select_for_update().get(pk=post.pk)
    sources, target = _REVIEW[action]
    if post.status == target:
        return post
    if sources is not None and post.status not in sources:
        status = post.get_status_display().lower()
        raise ReviewConflict(f"Only a flagged or rejected post can be approved; this one is {status}.")
    before = {"status": post.status, "status_reason": post.status_reason}
    try:
        transition_post(post=post, to_status=target, reason=reason or f"{action} by {actor}", actor=actor)
    except TransitionRefused as error:
        raise ReviewConflict(str(error)) from None
    if action == "approve":
        FraudSignal.objects.for_guild(post.guild_id).filter(post=post, resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolved_by=actor[:120]
        )
    record_audit(
        guild_id=post.guild_id,
        actor=actor,
        actor_user=_staff_user(request),
        action=f"post.{action}",
        target_type="post",
        target_id=post.pk,
        before=before,
        after={"status": post.status, "status_reason": post.status_reason},
        request=request,
    )
    return post


def _staff_user(request) -> Any:
    """The Django user behind ``request`` when it is one (dashboard callers may carry another kind)."""
    user = getattr(request, "user", None)
    return user if isinstance(user, get_user_model()) else None


# --- client accounts --------------------------------------------------------------------------------

CLIENT_ACCOUNT_FIELDS: tuple[str, ...] = (
    "name",
    "social_accounts",
    "payout_model",
    "cpm_rate",
    "required_tags",
    "banned_words",
    "counting_window_days",
    "active",
)
MAX_LIST_ITEMS = 100
COUNTING_WINDOW_DAYS = (1, 365)
_CLIENT_DEFAULTS: dict[str, Any] = {
    "social_accounts": {},
    "payout_model": ClientAccount.PayoutModel.CPM,
    "cpm_rate": Decimal("0.00"),
    "required_tags": [],
    "banned_words": [],
    "counting_window_days": 30,
    "active": True,
}
_TAG = re.compile(r"[#@][\w.]{1,99}")


class ClientAccountRefused(FieldsRefused):
    """A client account we refuse to create or change; ``fields`` says why per field."""


def _items(value: Any, what: str) -> list[str]:
    """A list of strings, or the text a form sent (one per line, or separated by commas)."""
    if isinstance(value, str):
        value = re.split(r"[,\n]", value)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"Give the {what} as a list of texts.")
    items = [" ".join(unicodedata.normalize("NFKC", v).split()) for v in value]
    items = list(dict.fromkeys(v for v in items if v))
    if len(items) > MAX_LIST_ITEMS:
        raise ValueError(f"At most {MAX_LIST_ITEMS} {what}.")
    if any(len(v) > 100 for v in items):
        raise ValueError(f"Each of the {what} has at most 100 characters.")
    return items


def _required_tags(value: Any) -> list[str]:
    """Hashtags and mentions, lower-cased, each with its # or @ (a bare word is a hashtag, as the
    caption check reads it), without duplicates."""
    tags = [t.lower() if t[0] in "#@" else f"#{t.lower()}" for t in _items(value, "required tags")]
    bad = [t for t in tags if not _TAG.fullmatch(t)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a tag: use #tag or @mention (letters, digits, _ and . only).")
    return list(dict.fromkeys(tags))


def _banned_words(value: Any) -> list[str]:
    first_spelling: dict[str, str] = {}
    for word in _items(value, "banned words"):
        first_spelling.setdefault(word.lower(), word)
    return list(first_spelling.values())


def _social_accounts(value: Any, problems: dict[str, str]) -> dict[str, str]:
    """{platform: handle}, each handle normalised as a creator's would be (parse_profile_handle);
    empty handles drop the platform. Problems are reported as ``social_accounts.<platform>``."""
    if not isinstance(value, dict):
        problems["social_accounts"] = 'Give the social accounts as {"platform": "handle"}.'
        return {}
    accounts = {}
    for platform, handle in value.items():
        key = f"social_accounts.{platform}"
        if not registry.is_registered(platform):
            problems[key] = f"Unknown platform; use one of {', '.join(registry.keys())}."
        elif not isinstance(handle, str):
            problems[key] = "The handle must be text, like @brand."
        elif handle.strip():
            try:
                accounts[platform] = parse_profile_handle(platform, handle)
            except HandleError as error:
                problems[key] = error.message
    return {p: accounts[p] for p in registry.keys() if p in accounts}


def _client_name(value: Any) -> str:
    text = " ".join(str(value or "").split())
    if not text or len(text) > 100:
        raise ValueError("Give the client account a name of 1 to 100 characters.")
    return text


def _payout_model(value: Any) -> str:
    if value not in ClientAccount.PayoutModel.values:
        raise ValueError("Choose cpm (paid per thousand views) or bonus (paid by the bonus rules).")
    return value


_CLIENT_CLEANERS = {
    "name": _client_name,
    "payout_model": _payout_model,
    "cpm_rate": lambda v: money(v, high_digits=6),
    "required_tags": _required_tags,
    "banned_words": _banned_words,
    "counting_window_days": lambda v: whole_number(v, low=COUNTING_WINDOW_DAYS[0], high=COUNTING_WINDOW_DAYS[1]),
    "active": flag,
}


def clean_client_account(
    *, guild_id: int, data: dict[str, Any], account: ClientAccount | None = None
) -> dict[str, Any]:
    """The account's complete, normalised values: ``data`` over the stored account (or the defaults
    for a new one). Raises ClientAccountRefused naming every bad field, including a name another
    client account of the guild already has."""
    problems = {name: "Not a client account field." for name in data if name not in CLIENT_ACCOUNT_FIELDS}
    current = {n: getattr(account, n) for n in CLIENT_ACCOUNT_FIELDS} if account else dict(_CLIENT_DEFAULTS)
    values = {**current, **{k: v for k, v in data.items() if k in CLIENT_ACCOUNT_FIELDS}}
    given = set(data) if account is not None else set(CLIENT_ACCOUNT_FIELDS)  # stored values stay as they are
    for name, clean in _CLIENT_CLEANERS.items():
        if name in given:
            try:
                values[name] = clean(values.get(name))
            except ValueError as error:
                problems[name] = str(error)
    if "social_accounts" in given:
        values["social_accounts"] = _social_accounts(values.get("social_accounts"), problems)
    if "name" in given and "name" not in problems:
        clash = ClientAccount.objects.for_guild(guild_id).filter(name=values["name"])
        if account is not None:
            clash = clash.exclude(pk=account.pk)
        if clash.exists():
            problems["name"] = "Another client account already has this name."
    if problems:
        raise ClientAccountRefused(problems)
    return {n: values[n] for n in CLIENT_ACCOUNT_FIELDS}


@transaction.atomic
def save_client_account(
    *,
    guild_id: int,
    account: ClientAccount | None = None,
    data: dict[str, Any],
    actor: str,
    actor_user=None,
    request=None,
) -> ClientAccount:
    """Create a client account (``account`` None) or change ``account`` with ``data`` (a partial
    update), and audit it (client_account.create with after; client_account.update with before/after
    of the changed fields; no change: nothing written or audited). Raises ClientAccountRefused
    (nothing written). The caller checks that the actor may administer the guild and runs in the
    guild's scope. A changed counting window applies to posts submitted from now on."""
    if account is not None and account.guild_id != guild_id:
        raise ClientAccount.DoesNotExist("No such client account in this guild.")
    values = clean_client_account(guild_id=guild_id, data=data, account=account)
    clash = ClientAccountRefused({"name": "Another client account already has this name."})
    if account is None:
        try:
            with transaction.atomic():  # a concurrent twin with the same name: a message, not a 500
                account = ClientAccount.objects.create(guild_id=guild_id, **values)
        except IntegrityError:
            raise clash from None
        before, after, action = None, {n: json_safe(values[n]) for n in values}, "client_account.create"
    else:
        changed = [n for n in CLIENT_ACCOUNT_FIELDS if values[n] != getattr(account, n)]
        if not changed:
            return account
        before = {n: json_safe(getattr(account, n)) for n in changed}
        for name in changed:
            setattr(account, name, values[name])
        try:
            with transaction.atomic():
                account.save(update_fields=changed)
        except IntegrityError:
            raise clash from None
        after, action = {n: json_safe(values[n]) for n in changed}, "client_account.update"
    record_audit(
        guild_id=guild_id,
        actor=actor,
        actor_user=actor_user,
        action=action,
        target_type="client_account",
        target_id=account.pk,
        before=before,
        after=after,
        request=request,
    )
    return account
