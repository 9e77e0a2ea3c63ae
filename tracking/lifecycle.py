"""A post's lifecycle: submitted → tracking → flagged / unavailable / finalized, or rejected.

Every change goes through ``transition_post``, which records who, when and why (PostStatusChange)
and refuses moves that make no sense with a message a person can act on.
"""

from __future__ import annotations

from django.db import transaction

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
    PostStatusChange.objects.create(
        guild_id=post.guild_id, post=post, from_status=previous, to_status=to_status, reason=reason[:500], actor=actor
    )
    return post
