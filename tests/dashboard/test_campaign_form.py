"""A guild admin sets a campaign's brief on the dashboard: create, edit, refusals, permissions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from core.tenancy import guild_scope
from guilds.models import DashboardAuditLog
from tests.factories import make_client_account
from tracking.models import Campaign

pytestmark = pytest.mark.django_db


def url(name, *args) -> str:
    return reverse(f"dashboard:{name}", args=args)


def _campaigns(guild) -> list[Campaign]:
    with guild_scope(guild.pk):
        return list(Campaign.objects.filter(guild=guild).order_by("pk"))


def _audit(guild) -> list[tuple[str, dict | None, dict | None]]:
    with guild_scope(guild.pk):
        rows = DashboardAuditLog.objects.filter(guild=guild, action__startswith="campaign.").order_by("pk")
        return [(r.action, r.before, r.after) for r in rows]


def _brief(account, **changes) -> dict:
    return {
        "client_account_id": str(account.pk),
        "name": "Winter push",
        "status": "active",
        "starts_at": "2026-12-01T09:30",
        "ends_at": "2027-01-31T23:00",
        "currency": "EUR",
        "total_budget": "5000.00",
        "rate_per_1000": "1.50",
        "post_cap": "40",
        "creator_cap": "",
        "min_views": "1000",
        "counting_window_days": "7",
        "validation_window_days": "3",
        "baseline": "gained",
        "on_disappear": "forfeit",
        "eligible_platforms": ["tiktok", "youtube"],
        "required_tags": "#acme, @acmehq",
        "banned_words": "free money\nfree money",
        "rate_tiktok": "2.00",
        **changes,
    }


def test_admin_creates_a_campaign_in_the_guilds_time_zone_and_edits_its_brief(admin_client, guild):
    guild.timezone = "Europe/Paris"
    with guild_scope(guild.pk):  # the restricted role writes a guild's row only inside its scope
        guild.save(update_fields=["timezone"])
    account = make_client_account(guild, name="Acme")
    r = admin_client.post(url("campaign-new", guild.pk), _brief(account))
    [campaign] = _campaigns(guild)
    assert (r.status_code, r["Location"]) == (302, url("campaign", guild.pk, campaign.pk))
    assert campaign.client_account_id == account.pk and campaign.name == "Winter push"
    assert campaign.starts_at == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # 09:30 in Paris
    assert campaign.ends_at == datetime(2027, 1, 31, 22, 0, tzinfo=UTC)
    assert (campaign.currency, campaign.total_budget, campaign.rate_per_1000) == (
        "EUR",
        Decimal("5000.00"),
        Decimal("1.50"),
    )
    assert (campaign.post_cap, campaign.creator_cap, campaign.min_views) == (Decimal("40.00"), None, 1000)
    assert campaign.platform_rates == {"tiktok": "2.00"}
    assert campaign.eligible_platforms == ["tiktok", "youtube"]
    assert (campaign.required_tags, campaign.banned_words) == (["#acme", "@acmehq"], ["free money"])
    assert (campaign.baseline, campaign.on_disappear, campaign.counting_window_days) == ("gained", "forfeit", 7)
    page = admin_client.get(url("campaign", guild.pk, campaign.pk)).content.decode()
    assert "Campaign Winter push created." in page and "Edit brief" in page

    form = admin_client.get(url("campaign-edit", guild.pk, campaign.pk)).content.decode()
    assert 'value="2026-12-01T09:30"' in form and "#acme\n@acmehq" in form
    r = admin_client.post(
        url("campaign-edit", guild.pk, campaign.pk), _brief(account, total_budget="6000", status="paused")
    )
    assert r.status_code == 302
    [campaign] = _campaigns(guild)
    assert (campaign.total_budget, campaign.status) == (Decimal("6000.00"), "paused")
    (created, _, _), (updated, before, after) = _audit(guild)
    assert (created, updated) == ("campaign.create", "campaign.update")
    assert before == {"status": "active", "total_budget": "5000.00"}
    assert after == {"status": "paused", "total_budget": "6000.00"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_at": "2026-11-01T00:00"}, "ends_at", "The end must be after the start."),
        ({"currency": "XXX"}, "currency", "Select a valid choice"),
        ({"rate_per_1000": "-1"}, "rate_per_1000", "greater than or equal to 0"),
        ({"rate_per_1000": "1.234"}, "rate_per_1000", "2 decimal places"),
        ({"rate_youtube": "abc"}, "rate_youtube", "Enter a number"),
        ({"counting_window_days": "0"}, "counting_window_days", "greater than or equal to 1"),
        ({"starts_at": "tomorrow"}, "starts_at", "Enter a valid date/time"),
        ({"name": ""}, "name", "This field is required"),
        ({"eligible_platforms": ["myspace"]}, "eligible_platforms", "Select a valid choice"),
        ({"required_tags": "#ok\ntwo words"}, "required_tags", "is not a tag: use #tag or @mention"),
    ],
)
def test_a_bad_brief_is_a_400_with_the_field_message_and_saves_nothing(admin_client, guild, changes, field, message):
    account = make_client_account(guild)
    r = admin_client.post(url("campaign-new", guild.pk), _brief(account, **changes))
    assert r.status_code == 400
    errors = {name: list(errs) for name, errs in r.context["form"].errors.items()}
    assert message in errors[field][0], errors
    assert _campaigns(guild) == [] and _audit(guild) == []


def test_a_name_used_by_another_campaign_is_refused_on_the_page(admin_client, guild):
    account = make_client_account(guild)
    assert admin_client.post(url("campaign-new", guild.pk), _brief(account)).status_code == 302
    r = admin_client.post(url("campaign-new", guild.pk), _brief(account))
    assert r.status_code == 400 and "already has this name" in r.content.decode()
    assert len(_campaigns(guild)) == 1


def test_manager_cannot_set_a_brief_and_another_guilds_account_or_campaign_is_refused(
    manager_client, guild, other_guild
):
    account = make_client_account(guild)
    assert "New campaign" not in manager_client.get(url("money", guild.pk)).content.decode()
    assert manager_client.get(url("campaign-new", guild.pk)).status_code == 403
    assert manager_client.post(url("campaign-new", guild.pk), _brief(account)).status_code == 403
    assert _campaigns(guild) == []


def test_another_guilds_account_and_campaign_are_not_reachable(admin_client, guild, other_guild):
    theirs = make_client_account(other_guild)
    r = admin_client.post(url("campaign-new", guild.pk), _brief(theirs))
    assert r.status_code == 400 and "Select a valid choice" in r.content.decode()
    with guild_scope(other_guild.pk):
        campaign = Campaign.objects.create(guild=other_guild, client_account=theirs, name="Theirs")
    assert admin_client.get(url("campaign-edit", guild.pk, campaign.pk)).status_code == 404
    assert admin_client.post(url("campaign-edit", guild.pk, campaign.pk), _brief(theirs)).status_code == 404
    assert _campaigns(guild) == []
