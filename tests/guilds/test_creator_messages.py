"""The creator message outbox: a flagged, rejected or approved post queues one private message for its
creator, with the reason as the reviewer wrote it, in the transaction of the change."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from core.tenancy import guild_scope, rls_bypass
from guilds.creator_messages import queue_creator_message
from guilds.models import CreatorMessage
from tests.factories import make_creator, make_post, make_profile
from tracking.lifecycle import transition_post
from tracking.models import Post
from tracking.review import review_post

pytestmark = pytest.mark.django_db
M = CreatorMessage


def _messages(guild):
    with guild_scope(guild.pk):
        return list(M.objects.for_guild(guild).order_by("pk"))


def test_a_flagged_post_queues_one_message_for_its_creator_with_the_reason(guild):
    post = make_post(guild)
    with guild_scope(guild.pk):
        review_post(post=post, action="flag", reason="Views jumped 40x in one hour", actor="staff:alice")
    [message] = _messages(guild)
    assert (message.kind, message.status, message.discord_user_id) == (
        "flagged",
        "pending",
        post.creator.discord_user_id,
    )
    assert message.creator_id == post.creator_id
    assert message.title == "Your post was flagged for review"
    assert f"Post: TikTok {post.canonical_url}" in message.body
    assert "Status: flagged" in message.body
    assert "Reason: Views jumped 40x in one hour" in message.body
    assert "Reply to a server admin if you think this is wrong." in message.body


def test_rejected_then_approved_each_tell_the_creator(guild):
    post = make_post(guild)
    with guild_scope(guild.pk):
        review_post(post=post, action="reject", reason="Not our brand's campaign", actor="staff:alice")
        review_post(post=post, action="approve", reason="It was, sorry", actor="staff:alice")
    rejected, approved = _messages(guild)
    assert rejected.kind == "rejected" and "Reason: Not our brand's campaign" in rejected.body
    assert approved.kind == "approved" and "Reason: It was, sorry" in approved.body
    assert approved.title == "Your post was approved"


def test_the_same_transition_twice_queues_one_message(guild):
    post = make_post(guild)
    with guild_scope(guild.pk):
        transition_post(post=post, to_status=Post.Status.FLAGGED, reason="caption misses #ad")
        transition_post(post=post, to_status=Post.Status.FLAGGED, reason="caption misses #ad")
        again = queue_creator_message(
            creator=post.creator,
            kind="flagged",
            event_key=_messages(guild)[0].event_key,
            platform="TikTok",
            url=post.canonical_url,
            reason="caption misses #ad",
        )
    assert again is False
    assert len(_messages(guild)) == 1


def test_statuses_creators_need_not_hear_about_queue_nothing(guild):
    post = make_post(guild, status=Post.Status.SUBMITTED)
    with guild_scope(guild.pk):
        transition_post(post=post, to_status=Post.Status.TRACKING)
        transition_post(post=post, to_status=Post.Status.FINALIZED)
    assert _messages(guild) == []


def test_a_rolled_back_review_tells_nobody(guild):
    post = make_post(guild)
    with guild_scope(guild.pk), pytest.raises(RuntimeError), transaction.atomic():
        review_post(post=post, action="flag", reason="checking", actor="staff:alice")
        raise RuntimeError("the request failed after the review")
    assert _messages(guild) == []


@pytest.mark.postgres
def test_another_guilds_messages_are_invisible_under_rls(guild, other_guild):
    post = make_post(guild)
    make_creator(other_guild, discord_user_id=post.creator.discord_user_id)  # same person, other server
    make_post(other_guild, make_profile(other_guild))
    with guild_scope(guild.pk):
        review_post(post=post, action="flag", reason="mine", actor="staff:alice")
    with guild_scope(other_guild.pk):
        assert M.objects.count() == 0  # no filter: RLS alone hides guild's row
    with rls_bypass(reason="test"):
        assert M.objects.count() == 1


def test_staff_see_each_message_and_why_it_was_not_sent_in_admin(guild, staff_client):
    post = make_post(guild)
    with guild_scope(guild.pk):
        review_post(post=post, action="flag", reason="views look bought", actor="staff:alice")
    with rls_bypass(reason="test"):
        M.objects.update(status="failed", last_error="the creator does not accept direct messages from the bot")
        row = M.objects.get()
    page = staff_client.get(reverse("admin:guilds_creatormessage_changelist"))
    assert page.status_code == 200
    assert "the creator does not accept direct messages from the bot" in page.content.decode()
    change = staff_client.get(reverse("admin:guilds_creatormessage_change", args=[row.pk]))
    assert change.status_code == 200 and "Reason: views look bought" in change.content.decode()
