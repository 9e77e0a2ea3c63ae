"""A post's lifecycle: submitted → tracking → flagged / unavailable / finalized, or rejected; and
its refresh state (when it is due next, how often fetching it failed).

Every status change goes through ``transition_post``, which records who, when and why
(PostStatusChange) and refuses moves that make no sense with a message a person can act on. Metrics
ingestion applies the same rules in bulk (metrics.ingestion); nothing else writes a post's status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from guilds.bot_events import queue_bot_event
from guilds.budgets import budget_for
from guilds.creator_messages import queue_creator_message
from tracking import cadence
from tracking.models import Post, PostStatusChange

S = Post.Status
ALLOWED: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.TRACKING, S.FLAGGED, S.UNAVAILABLE, S.REJECTED, S.FINALIZED}),
    S.TRACKING: frozenset({S.FLAGGED, S.UNAVAILABLE, S.FINALIZED, S.REJECTED}),
    S.FLAGGED: frozenset({S.TRACKING, S.UNAVAILABLE, S.FINALIZED, S.REJECTED}),
    S.UNAVAILABLE: frozenset({S.TRACKING, S.FLAGGED, S.FINALIZED, S.REJECTED}),
    S.FINALIZED: frozenset({S.FLAGGED, S.REJECTED}),
    S.REJECTED: frozenset({S.TRACKING}),  # staff may reinstate a post rejected by mistake
}


class TransitionRefused(ValueError):
    """The post cannot move to that status from where it is."""


@transaction.atomic
def transition_post(*, post: Post, to_status: str, reason: str = "", actor: str = "system") -> Post:
    """Move ``post`` to ``to_status`` and record the change. Moving to the current status is a no-op
    (returns the post unchanged, records nothing), so callers can be idempotent."""
    if post.status == to_status:
        return post
    if to_status not in ALLOWED.get(post.status, frozenset()):
        raise TransitionRefused(
            f"A {post.get_status_display().lower()} post cannot become {Post.Status(to_status).label.lower()}."
        )
    previous = post.status
    post.status = to_status
    post.status_reason = reason[:500]
    fields = ["status", "status_reason"]
    if to_status in (S.FINALIZED, S.REJECTED):
        post.next_refresh_at = None
        fields.append("next_refresh_at")
    post.save(update_fields=fields)
    change = PostStatusChange.objects.create(
        guild_id=post.guild_id, post=post, from_status=previous, to_status=to_status, reason=reason[:500], actor=actor
    )
    event = review_event(previous, to_status)
    if event:
        queue_bot_event(event_type=event, payload=post_event_payload(post, reason), guild_id=post.guild_id)
        # The creator hears it privately too, with the reason as written (one message per change).
        queue_creator_message(
            creator=post.creator,
            kind=event.removeprefix("post."),
            event_key=f"post:{post.pk}:change:{change.pk}",
            platform=post.get_platform_display(),
            url=post.canonical_url,
            reason=reason[:500],
        )
    return post


def review_event(previous: str, to_status: str) -> str:
    """The bot event a status change is ("post.flagged", "post.rejected", "post.approved"), or ""."""
    if to_status in (S.FLAGGED, S.REJECTED):
        return f"post.{to_status}"
    if to_status == S.TRACKING and previous in (S.FLAGGED, S.REJECTED):
        return "post.approved"
    return ""


def post_event_payload(post: Post, reason: str, *, discord_user_id: str | None = None) -> dict:
    """What the bot needs to tell the creator: which post, its status now, and why."""
    return {
        "post_id": post.pk,
        "discord_user_id": discord_user_id or post.creator.discord_user_id,
        "platform": post.platform,
        "url": post.canonical_url,
        "status": post.status,
        "reason": reason[:500],
    }


# --- refresh bookkeeping ------------------------------------------------------------------------
# Besides metrics ingestion (which moves a post's numbers and status in bulk), these are the only
# writers of a post's refresh state: when it is next due, and how often fetching it has failed.


def record_refresh_failures(
    *, guild_id: int, post_ids: Sequence[int], reason: str, now: datetime | None = None
) -> None:
    """One more failure for each post, and its next refresh backed off (the cadence doubles the
    interval per failure), so a post that keeps failing is not retried every cycle. Two queries
    whatever the number of posts; runs in the guild's scope."""
    if not post_ids:
        return
    now = now or timezone.now()
    budget = budget_for(guild_id)
    with transaction.atomic():
        posts = list(Post.objects.for_guild(guild_id).select_for_update().filter(pk__in=post_ids))
        for post in posts:
            post.failure_count += 1
            post.last_failure_reason = reason[:500]
            if post.status not in (S.FINALIZED, S.REJECTED):
                post.next_refresh_at = cadence.next_refresh_at(post=post, now=now, budget=budget)
        Post.objects.bulk_update(posts, ["failure_count", "last_failure_reason", "next_refresh_at"])


def claim_for_refresh(
    *, guild_id: int, post_ids: Sequence[int], planned: Mapping[int, datetime | None], until: datetime
) -> list[int]:
    """Claim posts for one vendor call: lock them, keep those still refreshable whose next_refresh_at
    is still the one the plan was made from (compare-and-set: another planner, or new numbers, got
    there first otherwise) and move it to ``until``. Returns the claimed ids, in order."""
    with transaction.atomic():
        rows = (
            Post.objects.for_guild(guild_id)
            .select_for_update()
            .filter(id__in=post_ids, status__in=Post.REFRESHABLE)
            .values_list("id", "next_refresh_at")
        )
        ids = sorted(pk for pk, at in rows if at is not None and at == planned.get(pk))
        if ids:
            Post.objects.for_guild(guild_id).filter(id__in=ids).update(next_refresh_at=until)
    return ids


def release_claim(*, guild_id: int, planned: Mapping[int, datetime | None], claimed_until: datetime) -> int:
    """Undo a claim whose vendor call never happened (no budget, the feature is off): each post still
    holding ``claimed_until`` gets back the next_refresh_at it was planned from. One statement."""
    with transaction.atomic():
        posts = list(
            Post.objects.for_guild(guild_id)
            .select_for_update()
            .filter(id__in=list(planned), next_refresh_at=claimed_until)
            .only("id", "next_refresh_at")
        )
        for post in posts:
            post.next_refresh_at = planned[post.id]
        Post.objects.bulk_update(posts, ["next_refresh_at"])
    return len(posts)
