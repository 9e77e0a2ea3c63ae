"""Reviewing a post: approve, reject, flag or finalize — the one write path for the API, the dashboard
and the admin. Audited; refuses moves the post cannot make with a message for the reviewer."""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from guilds.audit import record_audit
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
