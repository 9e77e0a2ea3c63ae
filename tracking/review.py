"""Reviewing a post: approve, reject, flag or finalize — the one write path for the API, the dashboard
and the admin. Audited; refuses moves the post cannot make with a message for the reviewer."""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from guilds.audit import record_audit
from guilds.models import FRAUD_THRESHOLD_DEFAULTS, Guild
from tracking.lifecycle import TransitionRefused, transition_post
from tracking.models import FraudSignal, Post

S = Post.Status


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


def allowed_actions(post: Post) -> list[str]:
    """The review actions that make sense from the post's status (what the pages offer)."""
    actions = []
    if post.status in _REVIEW["approve"][0]:
        actions.append("approve")
    if post.status not in (S.FLAGGED, S.REJECTED, S.FINALIZED):
        actions.append("flag")
    if post.status not in (S.REJECTED, S.FINALIZED):
        actions.append("reject")
    return actions


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


# ------------------------------------------------------------------------------------------------
# The review queue: every post that needs a person's decision, and the one count every page shows
# ------------------------------------------------------------------------------------------------

BULK_LIMIT = 100
BULK_ACTIONS = ("approve", "reject")


def review_queue(guild_id: int):
    """The posts that wait for a decision (flagged: by a fraud check, the caption check, an author
    mismatch or a person), oldest decision first. The dashboard's queue, its count and the API read it."""
    return (
        Post.objects.for_guild(guild_id)
        .filter(status=S.FLAGGED)
        .select_related("creator", "profile", "client_account")
        .order_by("submitted_at", "pk")
    )


def needs_decision_count(guild_id: int) -> int:
    """How many posts wait for a decision: the number on the overview, the menu and the queue."""
    return Post.objects.for_guild(guild_id).filter(status=S.FLAGGED).order_by().count()


def _percent(value) -> str:
    """Decimal("10.00") → "10 %", Decimal("0.20") → "0.2 %"."""
    return f"{value.normalize():f} %"


def threshold_notes(guild: Guild | int) -> dict[str, str]:
    """What the guild's fraud checks flag, per signal kind, for reviewers (from the Guild given, or
    one query for an id). Creators are not told these: their messages carry the numbers only, not how
    to stay under the thresholds."""
    names = list(FRAUD_THRESHOLD_DEFAULTS)
    if isinstance(guild, Guild):
        t = {name: getattr(guild, name) for name in names}
    else:
        t = Guild.objects.filter(pk=guild).values(*names).first() or FRAUD_THRESHOLD_DEFAULTS
    return {
        FraudSignal.Kind.SPIKE_WITHOUT_ENGAGEMENT: (
            f"This server flags {t['fraud_spike_min_views']:,}+ views gained with likes and comments under "
            f"{_percent(t['fraud_spike_max_engagement_pct'])} of them."
        ),
        FraudSignal.Kind.COUNT_DECREASED: (
            f"This server flags views dropping by more than {t['fraud_views_drop_min']:,} or "
            f"{_percent(t['fraud_views_drop_pct'])} (the larger), likes or comments by more than "
            f"{t['fraud_engagement_drop_min']:,} or {_percent(t['fraud_engagement_drop_pct'])}; "
            "5 % more for counts the platform rounded (1.2K)."
        ),
    }


_MEASURED = frozenset({FraudSignal.Kind.SPIKE_WITHOUT_ENGAGEMENT, FraudSignal.Kind.COUNT_DECREASED})


def reasons_for(guild_id: Guild | int, posts: list[Post], *, signals: bool = True) -> dict[int, list[str]]:
    """Each post's reasons to review: its open fraud signals (with their numbers, and the guild's
    thresholds they crossed), the caption check's findings and the reason its status was set (a
    manual flag, an author mismatch). One query, and one more for the thresholds when a spike or a
    drop is open (none when ``guild_id`` is the Guild itself). ``signals=False`` leaves the fraud
    signals out (for a page that lists them itself)."""
    ids = [p.pk for p in posts]
    shown: dict[int, list[str]] = {pk: [] for pk in ids}
    known: dict[int, list[str]] = {pk: [] for pk in ids}  # signal reasons, to say nothing twice
    open_signals = (
        FraudSignal.objects.for_guild(guild_id)
        .filter(post_id__in=ids, resolved_at__isnull=True)
        .order_by("detected_at", "pk")
        .values_list("post_id", "kind", "reason")
    )
    notes = None
    for post_id, kind, reason in open_signals:
        known[post_id].append(reason)
        if signals:
            text = f"{FraudSignal.Kind(kind).label}: {reason}"
            if kind in _MEASURED:
                notes = notes if notes is not None else threshold_notes(guild_id)
                text = f"{text} {notes[kind]}"
            shown[post_id].append(text)
    for post in posts:
        reasons, seen = shown[post.pk], known[post.pk]
        for finding in post.caption_reasons or []:
            if finding not in seen:
                reasons.append(f"Caption: {finding}")
                seen.append(finding)
        if post.status_reason and not any(post.status_reason in r or r in post.status_reason for r in seen):
            reasons.append(post.status_reason)
    return shown


def review_posts(
    *, guild_id: int, post_ids: list[int], action: str, reason: str, actor: str, request=None
) -> list[Post]:
    """Approve or reject several posts at once: all of them or none (one refusal names the post and
    changes nothing). Each post is reviewed, audited and announced exactly as ``review_post`` does."""
    if action not in BULK_ACTIONS:
        raise ReviewRefused(f"Unknown bulk action {action!r}; use approve or reject.", code="unknown_action")
    unique = list(dict.fromkeys(post_ids))
    if not unique:
        raise ReviewRefused("Choose at least one post.", code="no_posts")
    if len(unique) > BULK_LIMIT:
        raise ReviewRefused(f"At most {BULK_LIMIT} posts at once; choose fewer.", code="too_many")
    with transaction.atomic():
        posts = {p.pk: p for p in Post.objects.for_guild(guild_id).filter(pk__in=unique)}
        missing = [pk for pk in unique if pk not in posts]
        if missing:
            raise ReviewRefused(f"No post #{missing[0]} in this server.", code="not_found")
        settled = [p for p in posts.values() if p.status != S.FLAGGED]
        if settled:
            status = settled[0].get_status_display().lower()
            raise ReviewConflict(f"Post #{settled[0].pk} is not waiting for a decision (it is {status}).")
        done = []
        for pk in unique:
            try:
                done.append(review_post(post=posts[pk], action=action, reason=reason, actor=actor, request=request))
            except ReviewConflict as refused:
                raise ReviewConflict(f"Post #{pk}: {refused.message}") from None
            except ReviewRefused as refused:
                raise ReviewRefused(f"Post #{pk}: {refused.message}", code=refused.code) from None
        return done
