"""Budget burn: spent, pending, held, remaining and days left per campaign; alerts at 50/75/90 % once
each to the logs channel; at 100 % the campaign pauses with one message and takes no submissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.tenancy import guild_scope
from earnings.selectors import campaign_burn
from earnings.services import check_budgets, finalize_due_posts
from earnings.tasks import settle_money as settle_money_task
from guilds.models import GuildNotification
from tests.factories import make_campaign, make_post, make_snapshot
from tracking.models import Campaign, Post

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def campaign(guild):
    # 1.00 per 1,000 views, budget 100.00: 1,000 views = 1.00
    return make_campaign(
        guild,
        name="Launch",
        total_budget=Decimal("100.00"),
        starts_at=T0 - timedelta(days=1),
        ends_at=T0 + timedelta(days=20),
        counting_window_days=5,
        validation_window_days=0,
    )


def _post(guild, campaign, views, hours=0, status=Post.Status.TRACKING):
    post = make_post(
        guild,
        client_account=campaign.client_account,
        campaign=campaign,
        submitted_at=T0 + timedelta(hours=hours),
        counting_ends_at=T0 + timedelta(hours=hours, days=5),
        status=status,
    )
    make_snapshot(post, views=0, at=T0 + timedelta(hours=hours))
    make_snapshot(post, views=views, at=T0 + timedelta(hours=hours + 1))
    return post


def _check(guild, at):
    with guild_scope(guild.pk):
        return check_budgets(guild_id=guild.pk, now=at)


def _titles(bypass):
    with bypass():
        return list(GuildNotification.objects.order_by("pk").values_list("title", flat=True))


def test_burn_splits_spent_pending_and_held(guild, campaign):
    _post(guild, campaign, 30_000)  # 30.00, finalized below
    _post(guild, campaign, 12_500, hours=100)  # 12.50 pending (its window is still open at day 5)
    _post(guild, campaign, 7_250, hours=2, status=Post.Status.FLAGGED)  # 7.25 held
    at = T0 + timedelta(days=5, hours=1)
    with guild_scope(guild.pk):
        finalize_due_posts(guild_id=guild.pk, now=at)
        burn = campaign_burn(guild_id=guild.pk, campaign=campaign, at=at)
    assert (burn.spent, burn.pending, burn.held) == (Decimal("30.00"), Decimal("12.50"), Decimal("7.25"))
    assert (burn.remaining, burn.percent_used, burn.days_left) == (Decimal("50.25"), Decimal("49.75"), 14)


def test_alerts_once_each_and_pause_at_the_budget(guild, campaign, bypass):
    _post(guild, campaign, 55_000)
    _check(guild, T0 + timedelta(days=1))
    _check(guild, T0 + timedelta(days=1))  # a second run sends nothing new
    assert _titles(bypass) == ["Campaign Launch has used 50 % of its budget"]

    _post(guild, campaign, 36_000, hours=3)  # 91.00 used: 75 and 90 at once
    _check(guild, T0 + timedelta(days=1))
    assert _titles(bypass)[1:] == [
        "Campaign Launch has used 75 % of its budget",
        "Campaign Launch has used 90 % of its budget",
    ]

    _post(guild, campaign, 20_000, hours=4)  # 111.00 earned, the budget caps it at 100.00
    burns = _check(guild, T0 + timedelta(days=1))
    assert (burns[0].remaining, burns[0].percent_used) == (Decimal("0.00"), Decimal("100.00"))
    _check(guild, T0 + timedelta(days=1))
    assert _titles(bypass)[3:] == ["Campaign Launch spent its budget and is paused"]
    with bypass():
        assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED
        assert not Campaign.objects.accepting(T0 + timedelta(days=1)).filter(pk=campaign.pk).exists()


def test_campaign_without_budget_never_alerts(guild, bypass):
    campaign = make_campaign(guild)
    _post(guild, campaign, 10_000_000)
    assert _check(guild, T0 + timedelta(days=1)) == []
    assert _titles(bypass) == []


@pytest.mark.usefixtures("api_settings")
def test_burn_through_the_api(admin_client, guild, campaign):
    _post(guild, campaign, 12_340)
    r = admin_client.get(f"/api/v1/guilds/{guild.pk}/campaigns/{campaign.pk}/burn")
    assert r.status_code == 200
    body = r.json()
    assert (body["currency"], body["budget"], body["pending"], body["remaining"]) == ("USD", "100.00", "12.34", "87.66")
    assert body["percent_used"] == "12.34"


def test_the_periodic_job_finalizes_then_alerts(guild, campaign, bypass, settings):
    settings.DISCORD_BOT_TOKEN = ""
    _post(guild, campaign, 60_000)
    summary = settle_money_task.run(guild_id=guild.pk)
    assert summary == {"finalized": 1, "bonuses_booked": 0, "campaigns_checked": 1}  # the 5-day window ended long ago
    assert _titles(bypass) == ["Campaign Launch has used 50 % of its budget"]
    assert settle_money_task.run(guild_id=guild.pk) == {"finalized": 0, "bonuses_booked": 0, "campaigns_checked": 1}
    assert len(_titles(bypass)) == 1
