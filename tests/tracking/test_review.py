"""review_post: approve, reject, flag, finalize — each recorded (status change + audit) or refused."""

from __future__ import annotations

import pytest

from core.tenancy import guild_scope
from guilds.models import DashboardAuditLog
from tests.factories import make_post
from tracking.lifecycle import TransitionRefused
from tracking.models import FraudSignal, Post, PostStatusChange
from tracking.review import ReviewConflict, ReviewRefused, review_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("screenshots_in_tmp")]
S = Post.Status


def review(post, action, reason="", actor="discord:42 admin"):
    with guild_scope(post.guild_id):
        return review_post(post=post, action=action, reason=reason, actor=actor)


@pytest.fixture
def flagged(guild, bypass):
    post = make_post(guild, status=S.FLAGGED)
    with bypass():
        FraudSignal.objects.create(
            guild=guild, post=post, kind=FraudSignal.Kind.SPIKE_WITHOUT_ENGAGEMENT, reason="spike"
        )
    return post


def audit(bypass):
    with bypass():
        return list(DashboardAuditLog.objects.order_by("id").values_list("action", "actor", "before", "after"))


def test_approve_returns_a_flagged_post_to_tracking_and_resolves_its_signals(flagged, bypass):
    post = review(flagged, "approve", reason="checked the analytics")

    assert post.status == S.TRACKING
    with bypass():
        signal = FraudSignal.objects.get()
        change = PostStatusChange.objects.get()
    assert signal.resolved_at is not None and signal.resolved_by == "discord:42 admin"
    assert (change.from_status, change.to_status, change.reason, change.actor) == (
        "flagged",
        "tracking",
        "checked the analytics",
        "discord:42 admin",
    )
    assert audit(bypass) == [
        (
            "post.approve",
            "discord:42 admin",
            {"status": "flagged", "status_reason": ""},
            {"status": "tracking", "status_reason": "checked the analytics"},
        )
    ]


def test_approve_of_a_post_that_is_not_under_review_is_refused(guild, bypass):
    post = make_post(guild, status=S.SUBMITTED)

    with pytest.raises(ReviewRefused) as caught:
        review(post, "approve")

    assert caught.value.message == "Only a flagged or rejected post can be approved; this one is submitted."
    assert audit(bypass) == []


def test_reject_requires_a_reason(flagged, bypass):
    with pytest.raises(ReviewRefused) as caught:
        review(flagged, "reject", reason="  ")

    assert caught.value.message == "Say why the post is rejected; the creator will see the reason."
    assert caught.value.code == "reason_required" and not isinstance(caught.value, TransitionRefused)  # a 400
    with bypass():
        assert Post.objects.get().status == S.FLAGGED and not PostStatusChange.objects.exists()


def test_reject_with_a_reason_stops_refreshes_and_is_audited(flagged, bypass):
    post = review(flagged, "reject", reason="bought views")

    assert (post.status, post.status_reason, post.next_refresh_at) == (S.REJECTED, "bought views", None)
    assert [row[0] for row in audit(bypass)] == ["post.reject"]


def test_a_finalized_post_can_still_be_flagged(guild, bypass):
    post = review(make_post(guild, status=S.TRACKING), "finalize")
    post = review(post, "flag", reason="late report of fraud")

    assert post.status == S.FLAGGED
    with bypass():
        steps = list(PostStatusChange.objects.order_by("id").values_list("from_status", "to_status"))
    assert steps == [("tracking", "finalized"), ("finalized", "flagged")]


def test_an_impossible_transition_is_refused_with_the_lifecycle_message(guild, bypass):
    post = make_post(guild, status=S.REJECTED)

    with pytest.raises(ReviewRefused) as caught:
        review(post, "finalize")

    assert caught.value.message == "A rejected post cannot become finalized."
    assert isinstance(caught.value, ReviewConflict) and isinstance(caught.value, TransitionRefused)  # a 409
    assert audit(bypass) == []


def test_asking_for_the_current_status_records_nothing(guild, bypass):
    post = make_post(guild, status=S.FINALIZED)

    assert review(post, "finalize").status == S.FINALIZED
    assert audit(bypass) == []


def test_unknown_action_is_refused(flagged):
    with pytest.raises(ReviewRefused, match="Unknown review action 'delete'"):
        review(flagged, "delete")
