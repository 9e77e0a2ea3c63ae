"""Finalization: after the counting and validation windows a post's money is frozen and refreshing
stops; reopening is audited and a change in money becomes a ledger adjustment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.tenancy import guild_scope, rls_bypass
from earnings.models import LedgerEntry, PostFinalization
from earnings.selectors import earnings, earnings_document
from earnings.services import MoneyRefused, finalize_due_posts, reopen_post
from guilds.models import DashboardAuditLog
from tests.factories import make_campaign, make_post, make_snapshot
from tracking.lifecycle import transition_post
from tracking.models import Post

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, tzinfo=UTC)
ALL = (T0 - timedelta(days=1), T0 + timedelta(days=60))


@pytest.fixture
def post(guild):
    # 7-day counting window, 3-day validation window: payable from T0 + 10 days.
    campaign = make_campaign(
        guild, rate_per_1000=Decimal("2.00"), counting_window_days=7, validation_window_days=3, currency="EUR"
    )
    post = make_post(
        guild,
        client_account=campaign.client_account,
        campaign=campaign,
        submitted_at=T0,
        counting_ends_at=T0 + timedelta(days=7),
        next_refresh_at=T0 + timedelta(days=8),
    )
    make_snapshot(post, views=0, at=T0)
    make_snapshot(post, views=10_000, at=T0 + timedelta(days=2))  # 10,000 × 2 / 1000 = 20.00
    return post


def _finalize(guild, at):
    with guild_scope(guild.pk):
        return finalize_due_posts(guild_id=guild.pk, now=at)


def _amount(guild, post) -> tuple[str, bool]:
    with guild_scope(guild.pk):
        doc = earnings_document(earnings(guild_id=guild.pk, start=ALL[0], end=ALL[1]))
    (p,) = [p for c in doc["creators"] for p in c["posts"] if p["post_id"] == post.pk]
    return p["amount"], p["held"]


def test_nothing_is_final_inside_the_validation_window(guild, post, bypass):
    assert _finalize(guild, T0 + timedelta(days=9, hours=23)) == []
    with bypass():
        assert Post.objects.get(pk=post.pk).status == Post.Status.TRACKING


def test_after_both_windows_money_is_frozen_and_refresh_stops(guild, post, bypass):
    (final,) = _finalize(guild, T0 + timedelta(days=10))
    assert (final.views_payable, final.amount, final.currency) == (10_000, Decimal("20.00"), "EUR")
    with bypass():
        row = Post.objects.get(pk=post.pk)
    assert row.status == Post.Status.FINALIZED and row.next_refresh_at is None
    with bypass():
        assert not Post.objects.due_for_refresh(T0 + timedelta(days=30)).filter(pk=post.pk).exists()
    # late data captured inside the window does not move a frozen amount
    make_snapshot(post, views=15_000, at=T0 + timedelta(days=6))
    assert _amount(guild, post) == ("20.00", False)
    assert _finalize(guild, T0 + timedelta(days=11)) == []  # idempotent


def test_held_and_rejected_posts_are_not_finalized(guild, post, bypass):
    with rls_bypass(reason="test"):
        Post.objects.filter(pk=post.pk).update(status=Post.Status.FLAGGED)
    assert _finalize(guild, T0 + timedelta(days=20)) == []


def test_reopen_is_audited_holds_the_post_and_the_change_becomes_an_adjustment(guild, post, bypass):
    _finalize(guild, T0 + timedelta(days=10))
    make_snapshot(post, views=15_000, at=T0 + timedelta(days=6))  # late data: 30.00 now

    with guild_scope(guild.pk):
        reopen_post(guild_id=guild.pk, post_id=post.pk, reason="late snapshot from the vendor", actor="staff:alice")
    with bypass():
        audit = DashboardAuditLog.objects.get(action="post.reopen")
        old = PostFinalization.objects.get(post=post)
    assert (audit.actor, audit.target_id, audit.after) == (
        "staff:alice",
        str(post.pk),
        {"reason": "late snapshot from the vendor"},
    )
    assert (old.reopened_by, old.reopen_reason, old.amount) == (
        "staff:alice",
        "late snapshot from the vendor",
        Decimal("20.00"),
    )
    assert _amount(guild, post) == ("30.00", True)  # held until a reviewer releases it

    with guild_scope(guild.pk):
        transition_post(post=Post.objects.get(pk=post.pk), to_status=Post.Status.TRACKING, reason="checked")
    _finalize(guild, T0 + timedelta(days=12))
    with bypass():
        (adjustment,) = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUSTMENT)
        assert PostFinalization.objects.filter(post=post, reopened_at__isnull=True).get().amount == Decimal("30.00")
    assert (adjustment.amount, adjustment.currency, adjustment.post_id) == (Decimal("10.00"), "EUR", post.pk)
    assert adjustment.reason == "refinalized after reopen: late snapshot from the vendor"
    assert _amount(guild, post) == ("30.00", False)


def test_reopen_needs_a_reason_and_a_finalized_post(guild, post):
    with guild_scope(guild.pk), pytest.raises(MoneyRefused, match="Say why the post is reopened."):
        reopen_post(guild_id=guild.pk, post_id=post.pk, reason="  ", actor="staff:alice")
    with guild_scope(guild.pk), pytest.raises(MoneyRefused, match="Only a finalized post can be reopened."):
        reopen_post(guild_id=guild.pk, post_id=post.pk, reason="why not", actor="staff:alice")
