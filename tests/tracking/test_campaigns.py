"""Campaigns: a client account's paid brief — its validation, the migration that gave every client
account one, and submissions joining a campaign."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.tenancy import rls_bypass
from tests.factories import make_campaign, make_client_account, make_post
from tests.helpers.api import BOT_KEY, key_client
from tests.helpers.submissions import NOW, POST_URL
from tracking.models import Campaign, Post
from tracking.submission_errors import SubmissionRefused

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("screenshots_in_tmp")]

migration = importlib.import_module("tracking.migrations.0016_campaign_per_client_account")


def test_every_client_account_gets_one_campaign_with_its_rate_and_posts(guild, bypass):
    account = make_client_account(guild, name="Acme", cpm_rate=Decimal("1.75"), counting_window_days=21)
    closed = make_client_account(guild, name="Old brand", active=False)
    posts = [make_post(guild, client_account=account) for _ in range(2)] + [make_post(guild, client_account=closed)]

    migration.forwards(apps, None)

    with bypass():
        acme = Campaign.objects.get(client_account=account)
        old = Campaign.objects.get(client_account=closed)
        campaign_of = dict(Post.objects.values_list("pk", "campaign_id"))
    assert (acme.name, acme.status, acme.rate_per_1000, acme.counting_window_days) == (
        "Acme",
        "active",
        Decimal("1.75"),
        21,
    )
    assert (acme.currency, acme.baseline, acme.validation_window_days) == ("USD", "gained", 0)
    assert old.status == "ended"
    assert [campaign_of[p.pk] for p in posts] == [acme.pk, acme.pk, old.pk]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("currency", "usd", "not an ISO 4217 currency"),
        ("currency", "XXX", "not an ISO 4217 currency"),
        ("platform_rates", {"myspace": "1.00"}, "'myspace' is not a platform we track"),
        ("platform_rates", {"tiktok": "abc"}, "must be a decimal number"),
        ("platform_rates", {"tiktok": "1.005"}, "at most 2 decimals"),
        ("platform_rates", {"tiktok": "-1"}, "between 0 and"),
        ("eligible_platforms", ["tiktok", "myspace"], "Eligible platforms must be a list of"),
    ],
)
def test_invalid_brief_is_refused_with_a_reason(guild, field, value, message):
    campaign = make_campaign(guild)
    setattr(campaign, field, value)
    with pytest.raises(ValidationError, match=message):
        campaign.full_clean()


def test_database_refuses_negative_money_and_backwards_dates(guild):
    campaign = make_campaign(guild)
    for change in ({"total_budget": Decimal("-1")}, {"post_cap": Decimal("-0.01")}, {"ends_at": campaign.starts_at}):
        with rls_bypass(reason="test"), pytest.raises(IntegrityError), transaction.atomic():
            Campaign.objects.filter(pk=campaign.pk).update(**change)


def test_platform_rate_overrides_the_campaign_rate(guild):
    campaign = make_campaign(guild, rate_per_1000=Decimal("1.00"), platform_rates={"youtube": "2.50"})
    assert campaign.rate_for("youtube") == Decimal("2.50")
    assert campaign.rate_for("tiktok") == Decimal("1.00")


def test_submission_joins_the_accounts_active_campaign(submit, guild, brand, bypass):
    make_campaign(guild, client_account=brand, name="Paused", status="paused", starts_at=NOW - timedelta(days=1))
    active = make_campaign(
        guild, client_account=brand, name="Winter", starts_at=NOW - timedelta(days=5), counting_window_days=9
    )
    result = submit(POST_URL)
    assert result.post.campaign_id == active.pk
    assert result.post.counting_ends_at == NOW + timedelta(days=9)  # the campaign's window


def test_submission_without_any_campaign_keeps_the_account_window(submit, brand):
    result = submit(POST_URL)
    assert result.post.campaign_id is None
    assert result.post.counting_ends_at == NOW + timedelta(days=14)


def test_submission_to_a_named_campaign(submit, guild, brand):
    make_campaign(guild, client_account=brand, name="Main", starts_at=NOW - timedelta(days=1))
    side = make_campaign(guild, client_account=brand, name="Side", starts_at=NOW - timedelta(days=9))
    assert submit(POST_URL, campaign_id=side.pk).post.campaign_id == side.pk


@pytest.mark.parametrize(
    ("status", "starts", "ends", "code", "message"),
    [
        ("paused", -1, None, "campaign_not_accepting", "The campaign Spring is paused or outside its dates"),
        ("draft", -1, None, "campaign_not_accepting", "The campaign Spring is draft or outside its dates"),
        ("active", 1, None, "campaign_not_accepting", "outside its dates"),
        ("active", -9, -1, "campaign_not_accepting", "outside its dates"),
    ],
)
def test_submission_to_a_closed_campaign_is_refused(submit, guild, brand, bypass, status, starts, ends, code, message):
    ends_at = None if ends is None else NOW + timedelta(days=ends)
    spring = make_campaign(
        guild,
        client_account=brand,
        name="Spring",
        status=status,
        starts_at=NOW + timedelta(days=starts),
        ends_at=ends_at,
    )
    with pytest.raises(SubmissionRefused) as caught:
        submit(POST_URL, campaign_id=spring.pk)
    assert caught.value.code == code and message in caught.value.message
    assert caught.value.fields == {"campaign_id": [caught.value.message]}
    with bypass():
        assert not Post.objects.exists()


def test_another_accounts_campaign_is_not_found(submit, guild):
    elsewhere = make_campaign(guild)
    with pytest.raises(SubmissionRefused) as caught:
        submit(POST_URL, campaign_id=elsewhere.pk)
    assert caught.value.code == "campaign_not_found"
    assert caught.value.message == "That campaign is not one of Acme's. Pick one of its campaigns."


@pytest.mark.usefixtures("api_settings")
def test_bot_api_submits_to_a_campaign_and_refuses_anothers(guild, maya_tiktok, brand, bypass):
    mine = make_campaign(guild, client_account=brand, name="Main")
    elsewhere = make_campaign(guild, name="Other brand's")
    bot = key_client(BOT_KEY)
    url = f"/api/v1/bot/guilds/{guild.pk}/posts"
    body = {"discord_user_id": maya_tiktok.creator.discord_user_id, "client_account_id": brand.pk, "url": POST_URL}
    refused = bot.post(url, {**body, "campaign_id": elsewhere.pk}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {
        "campaign_id": ["That campaign is not one of Acme's. Pick one of its campaigns."]
    }
    r = bot.post(url, {**body, "campaign_id": mine.pk}, content_type="application/json")
    assert r.status_code == 201 and r.json()["post"]["campaign"] == mine.pk
