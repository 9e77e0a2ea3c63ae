"""The money rules around a post's window, worked out by hand: a post gone before or after its
counting window ends (keep or forfeit), and a held post approved after its windows passed.

Campaign: EUR, 2.00 per 1,000 views, 7-day counting window, 3-day validation window, views gained
since submission. The post is submitted at T0 with 0 views; it has 8,000 views on day 4 and 10,000
on day 6 (its last good refresh), so inside its window it earned 10,000 × 2 / 1000 = 20.00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from core.tenancy import guild_scope, rls_bypass
from earnings.models import PostFinalization
from earnings.selectors import earnings, earnings_document
from earnings.services import finalize_due_posts, settle_money
from tests.factories import make_campaign, make_post, make_snapshot
from tracking.lifecycle import transition_post
from tracking.models import Campaign, Post, PostStatusChange
from tracking.review import review_post

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, tzinfo=UTC)
ALL = (T0 - timedelta(days=1), T0 + timedelta(days=60))
WINDOW_END = T0 + timedelta(days=7)


@pytest.fixture
def campaign(guild):
    return make_campaign(
        guild, rate_per_1000=Decimal("2.00"), counting_window_days=7, validation_window_days=3, currency="EUR"
    )


@pytest.fixture
def post(guild, campaign):
    post = make_post(
        guild,
        client_account=campaign.client_account,
        campaign=campaign,
        submitted_at=T0,
        counting_ends_at=WINDOW_END,
        metrics_updated_at=T0 + timedelta(days=6),
    )
    make_snapshot(post, views=0, at=T0)
    make_snapshot(post, views=8_000, at=T0 + timedelta(days=4))
    make_snapshot(post, views=10_000, at=T0 + timedelta(days=6))
    return post


def _found_gone(post, at):
    """The refresh at ``at`` finds the post gone: its move to unavailable is recorded at ``at``."""
    with guild_scope(post.guild_id), time_machine.travel(at, tick=False):
        transition_post(post=post, to_status=Post.Status.UNAVAILABLE, reason="The platform says it is gone.")
    with rls_bypass(reason="test"):
        assert PostStatusChange.objects.get(post=post, to_status=Post.Status.UNAVAILABLE).created_at == at


def _rule(campaign, rule):
    with rls_bypass(reason="test"):
        Campaign.objects.filter(pk=campaign.pk).update(on_disappear=rule)


def _amount(guild, post) -> str | None:
    with guild_scope(guild.pk):
        doc = earnings_document(earnings(guild_id=guild.pk, start=ALL[0], end=ALL[1]))
    amounts = [p["amount"] for c in doc["creators"] for p in c["posts"] if p["post_id"] == post.pk]
    return amounts[0] if amounts else None


def test_gone_after_the_window_ended_keeps_its_money_even_on_a_forfeit_campaign(guild, campaign, post):
    # Last good refresh on day 6 (inside the window); found gone on day 7 12:00, after the window ended.
    _rule(campaign, Campaign.OnDisappear.FORFEIT)
    _found_gone(post, WINDOW_END + timedelta(hours=12))
    assert _amount(guild, post) == "20.00"
    with guild_scope(guild.pk):
        (final,) = finalize_due_posts(guild_id=guild.pk, now=T0 + timedelta(days=10))
    assert (final.views_payable, final.amount, final.currency) == (10_000, Decimal("20.00"), "EUR")


def test_gone_exactly_at_the_end_of_the_window_keeps_its_money(guild, campaign, post):
    _rule(campaign, Campaign.OnDisappear.FORFEIT)
    _found_gone(post, WINDOW_END)
    assert _amount(guild, post) == "20.00"


def test_gone_before_the_window_ended_forfeits_on_a_forfeit_campaign(guild, campaign, post):
    _rule(campaign, Campaign.OnDisappear.FORFEIT)
    _found_gone(post, WINDOW_END - timedelta(hours=12))
    assert _amount(guild, post) is None  # earns 0.00: not listed
    with guild_scope(guild.pk):
        (final,) = finalize_due_posts(guild_id=guild.pk, now=T0 + timedelta(days=10))
    assert (final.views_payable, final.amount) == (0, Decimal("0.00"))


def test_gone_before_the_window_ended_keeps_what_it_earned_on_a_keep_campaign(guild, campaign, post):
    _found_gone(post, WINDOW_END - timedelta(hours=12))
    assert _amount(guild, post) == "20.00"


def test_keep_counts_only_the_views_seen_before_it_was_gone(guild, campaign, bypass):
    # Seen with 8,000 views on day 4, found gone on day 5: 8,000 × 2 / 1000 = 16.00 kept.
    post = make_post(
        guild,
        client_account=campaign.client_account,
        campaign=campaign,
        submitted_at=T0,
        counting_ends_at=WINDOW_END,
        metrics_updated_at=T0 + timedelta(days=4),
    )
    make_snapshot(post, views=0, at=T0)
    make_snapshot(post, views=8_000, at=T0 + timedelta(days=4))
    _found_gone(post, T0 + timedelta(days=5))
    assert _amount(guild, post) == "16.00"


# --- a held post approved after its windows passed ---------------------------------------------


def test_a_held_post_approved_after_its_windows_is_finalized_on_the_next_settle(guild, campaign, post, bypass):
    with guild_scope(guild.pk):
        transition_post(post=post, to_status=Post.Status.FLAGGED, reason="Views spiked without engagement")
    after_windows = T0 + timedelta(days=12)  # counting (7) + validation (3) days passed
    assert settle_money(guild_id=guild.pk, now=after_windows)["finalized"] == 0  # held: not frozen
    with bypass():
        assert not PostFinalization.objects.filter(post=post).exists()
    with guild_scope(guild.pk):
        assert _amount(guild, post) == "20.00"  # counted as held
        review_post(post=post, action="approve", reason="checked by hand", actor="staff:ana")
    assert settle_money(guild_id=guild.pk, now=after_windows + timedelta(minutes=15))["finalized"] == 1
    with bypass():
        final = PostFinalization.objects.get(post=post)
        assert Post.objects.get(pk=post.pk).status == Post.Status.FINALIZED
    assert (final.views_payable, final.amount, final.currency) == (10_000, Decimal("20.00"), "EUR")
    make_snapshot(post, views=30_000, at=T0 + timedelta(days=6, hours=12))  # late data inside the window
    assert _amount(guild, post) == "20.00"  # frozen
    assert settle_money(guild_id=guild.pk, now=after_windows + timedelta(minutes=30))["finalized"] == 0
