"""One review queue, one count: every post waiting for a decision, with its reasons, and the same
number on the overview, the menu, the queue and the API; bulk approve/reject is all or none."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from core.tenancy import guild_scope
from guilds.models import DashboardAuditLog
from tests.factories import make_post
from tracking.models import FraudSignal, Post, PostStatusChange

pytestmark = pytest.mark.django_db


def _url(guild, name, *extra):
    return reverse(f"dashboard:{name}", args=[guild.pk, *extra])


@pytest.fixture
def queue(guild):
    """Three flagged posts (a fraud signal with its numbers, a caption finding, a person's flag), a
    resolved signal on a tracking post (not waiting), and a tracking post."""
    spiked = make_post(guild, status=Post.Status.FLAGGED, caption="Day 3 of the challenge #ad")
    caption = make_post(
        guild,
        status=Post.Status.FLAGGED,
        caption_reasons=["Missing required tag #globex"],
        status_reason="Caption check: Missing required tag #globex",
    )
    manual = make_post(guild, status=Post.Status.FLAGGED, status_reason="Looks reposted from another account")
    settled = make_post(guild)
    tracking = make_post(guild)
    with guild_scope(guild.pk):
        FraudSignal.objects.create(
            guild=guild, post=spiked, kind=FraudSignal.Kind.SPIKE_WITHOUT_ENGAGEMENT, reason="Views x40 in one hour"
        )
        FraudSignal.objects.create(
            guild=guild, post=settled, kind=FraudSignal.Kind.COUNT_DECREASED, reason="old", resolved_by="x"
        )
        FraudSignal.objects.filter(post=settled).update(resolved_at="2026-11-01T00:00:00Z")
    return {"spiked": spiked, "caption": caption, "manual": manual, "tracking": tracking}


def test_the_queue_lists_every_waiting_post_with_its_reasons(admin_client, guild, queue):
    page = admin_client.get(_url(guild, "review")).content.decode()
    assert "3 posts waiting for a decision" in page
    assert "Views spiked without engagement: Views x40 in one hour" in page
    assert "Caption: Missing required tag #globex" in page
    assert "Looks reposted from another account" in page
    assert "Day 3 of the challenge" in page  # the caption's first words, not a truncated id
    assert f'value="{queue["tracking"].pk}"' not in page


def test_every_surface_shows_the_same_count(admin_client, guild, queue):
    overview = admin_client.get(_url(guild, "overview")).content.decode()
    assert re.search(r'data-testid="open-flags">\s*3\s*<', overview)
    assert re.search(r'data-testid="review-count">3<', overview)  # the menu, on every guild page
    posts = admin_client.get(_url(guild, "posts")).content.decode()
    assert re.search(r'data-testid="review-count">3<', posts)


def test_a_post_flagged_by_a_person_says_why_on_its_page(admin_client, guild, queue):
    page = admin_client.get(_url(guild, "post-detail", queue["manual"].pk)).content.decode()
    assert "Waiting for a decision" in page and "Looks reposted from another account" in page
    assert "No flags." not in page


def test_bulk_approve_approves_all_resolves_flags_and_audits_each(admin_client, guild, queue):
    chosen = [queue["spiked"].pk, queue["manual"].pk]
    response = admin_client.post(_url(guild, "review"), {"post": chosen, "action": "approve", "reason": "checked"})
    assert (response.status_code, response["Location"]) == (302, _url(guild, "review"))
    with guild_scope(guild.pk):
        assert set(Post.objects.filter(pk__in=chosen).values_list("status", flat=True)) == {"tracking"}
        assert not FraudSignal.objects.filter(post_id__in=chosen, resolved_at__isnull=True).exists()
        assert DashboardAuditLog.objects.filter(action="post.approve").count() == 2
        assert PostStatusChange.objects.filter(post_id__in=chosen, to_status="tracking").count() == 2
    page = admin_client.get(_url(guild, "review")).content.decode()
    assert "2 posts approved." in page and "1 post waiting for a decision" in page


@pytest.mark.parametrize(
    ("which", "action", "reason", "status", "message"),
    [
        (["spiked", "caption"], "reject", "", 400, "Say why the post is rejected"),
        (["spiked", "tracking"], "approve", "ok", 409, "is not waiting for a decision (it is tracking)"),
        (["spiked"], "delete", "ok", 400, "Unknown bulk action"),
        ([], "approve", "ok", 400, "Choose at least one post"),
    ],
)
def test_a_bulk_review_that_cannot_be_done_whole_changes_nothing(
    admin_client, guild, queue, which, action, reason, status, message
):
    chosen = [queue[name].pk for name in which]
    response = admin_client.post(_url(guild, "review"), {"post": chosen, "action": action, "reason": reason})
    assert response.status_code == status
    assert message in response.content.decode()
    with guild_scope(guild.pk):
        assert Post.objects.filter(status="flagged").count() == 3
        assert not DashboardAuditLog.objects.filter(action__startswith="post.").exists()


def test_another_guilds_post_cannot_be_reviewed_from_here(admin_client, guild, other_guild, queue):
    theirs = make_post(other_guild, status=Post.Status.FLAGGED)
    response = admin_client.post(
        _url(guild, "review"), {"post": [queue["spiked"].pk, theirs.pk], "action": "approve", "reason": "x"}
    )
    assert response.status_code == 400 and f"No post #{theirs.pk} in this server" in response.content.decode()
    with guild_scope(other_guild.pk):
        assert Post.objects.get(pk=theirs.pk).status == "flagged"


def test_the_post_page_offers_only_the_moves_its_status_allows(admin_client, guild, queue):
    tracking = admin_client.get(_url(guild, "post-detail", queue["tracking"].pk)).content.decode()
    assert 'value="approve"' not in tracking and 'value="flag"' in tracking and 'value="reject"' in tracking
    flagged = admin_client.get(_url(guild, "post-detail", queue["manual"].pk)).content.decode()
    assert 'value="approve"' in flagged and 'value="flag"' not in flagged


def test_reopening_the_review_address_goes_back_to_the_post(admin_client, guild, queue):
    response = admin_client.get(_url(guild, "post-review", queue["manual"].pk))
    assert (response.status_code, response["Location"]) == (302, _url(guild, "post-detail", queue["manual"].pk))
