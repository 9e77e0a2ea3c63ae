"""The one write path for client accounts (tracking.client_accounts), as for guild settings and bonus rules
(tests/guilds/test_settings_services.py): every refusal names its field and writes nothing; every change
is audited with before/after."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.tenancy import guild_scope
from guilds.models import DashboardAuditLog
from tests.factories import make_client_account
from tests.helpers.api import ADMINISTRATOR, grant, login, make_dashboard_user
from tracking.client_accounts import ClientAccountRefused, save_client_account
from tracking.models import Campaign, ClientAccount

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

ACTOR = "discord:80351110224678912 alice"


def _audit(guild) -> list[DashboardAuditLog]:
    with guild_scope(guild.pk):
        return list(DashboardAuditLog.objects.filter(guild=guild).order_by("pk"))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "1 to 100 characters"),
        ({"required_tags": ["#ok", "not a tag"]}, "required_tags", "is not a tag"),
        ({"required_tags": "#ok"}, None, None),  # text is split, like the form's
        ({"required_tags": [1, 2]}, "required_tags", "list of texts"),
        ({"banned_words": ["x" * 101]}, "banned_words", "at most 100 characters"),
        ({"counting_window_days": 0}, "counting_window_days", "from 1 to 365"),
        ({"counting_window_days": 366}, "counting_window_days", "from 1 to 365"),
        ({"cpm_rate": "-0.01"}, "cpm_rate", "at most 2 decimals"),
        ({"payout_model": "barter"}, "payout_model", "Choose cpm"),
        ({"active": None}, "active", "true or false"),
        ({"social_accounts": {"myspace": "brand"}}, "social_accounts.myspace", "Unknown platform"),
        ({"social_accounts": {"tiktok": "no spaces allowed"}}, "social_accounts.tiktok", ""),
        ({"social_accounts": ["tiktok"]}, "social_accounts", "platform"),
    ],
)
def test_bad_client_account_is_refused_and_nothing_is_written(guild, data, field, message):
    base = {"name": "Northwind", "cpm_rate": "1.50"}
    with guild_scope(guild.pk):
        if field is None:
            save_client_account(guild_id=guild.pk, data={**base, **data}, actor=ACTOR)
            return
        with pytest.raises(ClientAccountRefused) as refused:
            save_client_account(guild_id=guild.pk, data={**base, **data}, actor=ACTOR)
        assert message in refused.value.fields[field]
        assert not ClientAccount.objects.for_guild(guild).exists()
    assert _audit(guild) == []


def test_client_account_values_are_normalised_and_audited(guild):
    data = {
        "name": "  Northwind  Coffee ",
        "required_tags": ["#Northwind", "northwind", "@NorthwindHQ", " "],
        "banned_words": ["Cheap", "cheap", "free coffee"],
        "social_accounts": {"tiktok": "@NorthWind", "youtube": "", "instagram": "https://instagram.com/northwind_ig/"},
        "cpm_rate": "2.5",
        "counting_window_days": "14",
    }
    with guild_scope(guild.pk):
        account = save_client_account(guild_id=guild.pk, data=data, actor=ACTOR)
        stored = ClientAccount.objects.get(pk=account.pk)
    assert stored.name == "Northwind Coffee"
    assert stored.required_tags == ["#northwind", "@northwindhq"]
    assert stored.banned_words == ["Cheap", "free coffee"]
    assert stored.social_accounts == {"tiktok": "northwind", "instagram": "northwind_ig"}
    assert (stored.cpm_rate, stored.counting_window_days, stored.active) == (Decimal("2.50"), 14, True)
    entry, opened = _audit(guild)
    assert entry.action == "client_account.create" and entry.after["cpm_rate"] == "2.50"
    assert opened.action == "campaign.create" and opened.after["rate_per_1000"] == "2.50"


def test_client_account_update_audits_changed_fields_only(guild):
    account = make_client_account(guild, name="Northwind", required_tags=["#nw"])
    with guild_scope(guild.pk):
        save_client_account(
            guild_id=guild.pk, account=account, data={"active": False, "name": "Northwind"}, actor=ACTOR
        )
    [entry] = _audit(guild)
    assert (entry.action, entry.before, entry.after) == ("client_account.update", {"active": True}, {"active": False})


def test_duplicate_client_name_is_a_field_message(guild):
    make_client_account(guild, name="Northwind")
    other = make_client_account(guild, name="Contoso")
    with guild_scope(guild.pk), pytest.raises(ClientAccountRefused) as refused:
        save_client_account(guild_id=guild.pk, account=other, data={"name": "Northwind"}, actor=ACTOR)
    assert refused.value.fields == {"name": "Another client account already has this name."}


def test_a_new_client_account_opens_its_campaign_and_takes_posts_at_once(guild, submit, bypass):
    data = {"name": "Northwind", "cpm_rate": "2.5", "counting_window_days": 14, "required_tags": ["#nw"]}
    with guild_scope(guild.pk):
        account = save_client_account(guild_id=guild.pk, data=data, actor=ACTOR)
        (campaign,) = Campaign.objects.for_guild(guild).filter(client_account=account)
    assert (campaign.name, campaign.status, campaign.currency) == ("Northwind", "active", "USD")
    assert (campaign.rate_per_1000, campaign.counting_window_days) == (Decimal("2.50"), 14)
    assert (campaign.validation_window_days, campaign.required_tags) == (3, ["#nw"])
    post = submit(client_account_id=account.pk, now=timezone.now()).post
    assert post.campaign_id == campaign.pk


def test_an_inactive_new_account_opens_a_draft_campaign_and_a_taken_name_gets_a_number(guild):
    other = make_client_account(guild, name="Elsewhere")
    with guild_scope(guild.pk):
        Campaign.objects.create(guild=guild, client_account=other, name="Northwind")
        account = save_client_account(guild_id=guild.pk, data={"name": "Northwind", "active": False}, actor=ACTOR)
        (campaign,) = Campaign.objects.for_guild(guild).filter(client_account=account)
    assert (campaign.name, campaign.status, campaign.rate_per_1000) == ("Northwind (2)", "draft", Decimal("0.00"))


def test_updating_an_account_opens_no_second_campaign(guild):
    with guild_scope(guild.pk):
        account = save_client_account(guild_id=guild.pk, data={"name": "Northwind"}, actor=ACTOR)
        save_client_account(guild_id=guild.pk, account=account, data={"cpm_rate": "3.00"}, actor=ACTOR)
        assert Campaign.objects.for_guild(guild).filter(client_account=account).count() == 1


def test_client_account_api_and_admin_open_a_campaign(client, staff_client, guild, bypass):
    user = make_dashboard_user()
    grant(user, {guild: ADMINISTRATOR})
    api = login(client, user)
    r = api.post(
        f"/api/v1/guilds/{guild.pk}/client-accounts",
        {"name": "Contoso", "cpm_rate": "1.25"},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    r = staff_client.post(
        reverse("admin:tracking_clientaccount_add"),
        {
            "guild": str(guild.pk),
            "name": "Fabrikam",
            "social_accounts": "{}",
            "payout_model": "cpm",
            "cpm_rate": "0.75",
            "required_tags": "[]",
            "banned_words": "[]",
            "counting_window_days": "30",
            "active": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    with bypass():
        rates = dict(Campaign.objects.filter(guild=guild).values_list("client_account__name", "rate_per_1000"))
    assert rates == {"Contoso": Decimal("1.25"), "Fabrikam": Decimal("0.75")}
