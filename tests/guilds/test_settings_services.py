"""The one write path for guild settings and bonus rules (guilds.guild_settings, guilds.bonus_rules): every
refusal names its field and writes nothing; every change is audited with before/after; webhook URLs
(secrets) never appear in full in an audit entry or an API response. Client accounts, written the same
way, are tests/tracking/test_client_accounts.py."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.utils import timezone

from core.tenancy import guild_scope
from guilds.bonus_rules import RULE_DEACTIVATED, BonusRuleRefused, delete_bonus_rule, save_bonus_rule
from guilds.guild_settings import GuildSettingsRefused, mask_webhook_url, update_guild_settings
from guilds.models import BonusRule, DashboardAuditLog, Guild
from metrics.models import BonusAward
from tests.factories import factory, make_bonus_rule, make_creator

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

ACTOR = "discord:80351110224678912 alice"
WEBHOOK = "https://discord.com/api/webhooks/1234567890123456789/s3cr3t-T0ken_abcdefghijklmnopqrstuvwxyz"
MASKED = "https://discord.com/api/webhooks/1234567890123456789/***"


def _audit(guild) -> list[DashboardAuditLog]:
    with guild_scope(guild.pk):
        return list(DashboardAuditLog.objects.filter(guild=guild).order_by("pk"))


def _guild(guild) -> Guild:
    with guild_scope(guild.pk):
        return Guild.objects.get(pk=guild.pk)


# --- guild settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"logs_channel_id": "12345"}, "logs_channel_id", "15 to 19 digits"),
        ({"updates_channel_id": "#general"}, "updates_channel_id", "15 to 19 digits"),
        ({"logs_webhook_url": "https://evil.example/api/webhooks/1/x"}, "logs_webhook_url", "discord.com/api/webhooks"),
        (
            {"updates_webhook_url": "http://discord.com/api/webhooks/1234567890123456789/" + "a" * 30},
            "updates_webhook_url",
            "discord.com",
        ),
        ({"timezone": "Mars/Olympus"}, "timezone", "is not an IANA time zone"),
        ({"daily_report_hour": 24}, "daily_report_hour", "from 0 to 23"),
        ({"daily_report_hour": "nine"}, "daily_report_hour", "from 0 to 23"),
        ({"daily_report_hour": True}, "daily_report_hour", "from 0 to 23"),
        ({"name": "Renamed"}, "name", "Not a guild setting"),
    ],
)
def test_bad_guild_settings_are_refused_and_nothing_is_written(guild, changes, field, message):
    with guild_scope(guild.pk), pytest.raises(GuildSettingsRefused) as refused:
        update_guild_settings(guild=guild, changes={"timezone": "Europe/Paris", **changes}, actor=ACTOR)
    assert message in refused.value.fields[field]
    stored = _guild(guild)
    assert (stored.timezone, stored.name, stored.daily_report_hour) == ("UTC", guild.name, 9)
    assert _audit(guild) == []


def test_guild_settings_change_is_audited_with_masked_webhook(guild):
    with guild_scope(guild.pk):
        changed = update_guild_settings(
            guild=guild,
            changes={"logs_webhook_url": WEBHOOK, "timezone": "Europe/Paris", "daily_report_hour": "7"},
            actor=ACTOR,
        )
    assert sorted(changed) == ["daily_report_hour", "logs_webhook_url", "timezone"]
    stored = _guild(guild)
    assert (stored.logs_webhook_url, stored.timezone, stored.daily_report_hour) == (WEBHOOK, "Europe/Paris", 7)
    [entry] = _audit(guild)
    assert entry.action == "guild.update"
    assert entry.before == {"logs_webhook_url": "", "timezone": "UTC", "daily_report_hour": 9}
    assert entry.after == {"logs_webhook_url": MASKED, "timezone": "Europe/Paris", "daily_report_hour": 7}
    assert "s3cr3t" not in json.dumps([entry.before, entry.after])


def test_same_settings_again_write_nothing(guild):
    with guild_scope(guild.pk):
        assert update_guild_settings(guild=guild, changes={"timezone": "UTC", "logs_channel_id": ""}, actor=ACTOR) == []
    assert _audit(guild) == []


def test_a_new_destination_clears_the_gone_mark(guild, bypass):
    gone = timezone.now()
    with bypass():
        Guild.objects.filter(pk=guild.pk).update(
            logs_channel_id="1111111111111111111", logs_destination_gone_at=gone, updates_destination_gone_at=gone
        )
    guild = _guild(guild)
    with guild_scope(guild.pk):
        update_guild_settings(guild=guild, changes={"logs_channel_id": "1222222222222222222"}, actor=ACTOR)
    stored = _guild(guild)
    assert stored.logs_destination_gone_at is None
    assert stored.updates_destination_gone_at is not None  # the other channel still needs a new one
    [entry] = _audit(guild)
    assert entry.after == {"logs_channel_id": "1222222222222222222", "logs_destination_gone_at": None}


def test_blank_clears_a_webhook(guild, bypass):
    with bypass():
        Guild.objects.filter(pk=guild.pk).update(updates_webhook_url=WEBHOOK)
    with guild_scope(guild.pk):
        update_guild_settings(guild=_guild(guild), changes={"updates_webhook_url": ""}, actor=ACTOR)
    assert _guild(guild).updates_webhook_url == ""
    [entry] = _audit(guild)
    assert (entry.before, entry.after) == ({"updates_webhook_url": MASKED}, {"updates_webhook_url": ""})


def test_mask_webhook_url():
    assert mask_webhook_url(WEBHOOK) == MASKED
    assert mask_webhook_url("") == ""
    assert mask_webhook_url("https://example.com/secret") == "***"


def test_api_never_sends_the_webhook_url_back(admin_client, guild, bypass):
    url = f"/api/v1/guilds/{guild.pk}/"
    r = admin_client.patch(url, {"logs_webhook_url": WEBHOOK}, content_type="application/json")
    assert r.status_code == 200 and r.json()["logs_webhook_url"] == MASKED
    assert "s3cr3t" not in r.content.decode()
    assert "s3cr3t" not in admin_client.get(url).content.decode()
    log = admin_client.get(f"/api/v1/guilds/{guild.pk}/audit-log").content.decode()
    assert "s3cr3t" not in log and MASKED in log
    with bypass():
        assert Guild.objects.get(pk=guild.pk).logs_webhook_url == WEBHOOK


def test_api_refusal_names_the_field(admin_client, guild):
    r = admin_client.patch(f"/api/v1/guilds/{guild.pk}/", {"daily_report_hour": 30}, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid"
    assert r.json()["error"]["fields"] == {"daily_report_hour": ["Must be a whole number from 0 to 23."]}


# --- bonus rules ------------------------------------------------------------------------------------

GOOD_RULE = {"name": "10k club", "kind": "threshold", "min_views_gained": 10_000, "amount": "25.00"}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"min_views_gained": 0}, "min_views_gained", "from 1 to"),
        ({"min_views_gained": None}, "min_views_gained", "A threshold rule needs min_views_gained"),
        ({"kind": "top_n", "place": 0}, "place", "from 1 to 100"),
        ({"kind": "top_n", "place": 101}, "place", "from 1 to 100"),
        ({"kind": "top_n"}, "place", "A top-N rule needs place (1 = first)."),
        ({"kind": "lottery"}, "kind", "Choose threshold"),
        ({"amount": "-1"}, "amount", "with at most 2 decimals"),
        ({"amount": "1.234"}, "amount", "with at most 2 decimals"),
        ({"amount": "lots"}, "amount", "with at most 2 decimals"),
        ({"amount": "100000000"}, "amount", "from 0 to 99999999.99"),
        ({"name": "   "}, "name", "1 to 100 characters"),
        ({"currency": "US"}, "currency", "three-letter"),
        ({"active": "yes"}, "active", "true or false"),
        ({"colour": "red"}, "colour", "Not a bonus rule field"),
    ],
)
def test_bad_bonus_rule_is_refused_and_nothing_is_written(guild, data, field, message):
    with guild_scope(guild.pk), pytest.raises(BonusRuleRefused) as refused:
        save_bonus_rule(guild_id=guild.pk, data={**GOOD_RULE, **data}, actor=ACTOR)
    assert message in refused.value.fields[field]
    with guild_scope(guild.pk):
        assert not BonusRule.objects.for_guild(guild).exists()
    assert _audit(guild) == []


def test_duplicate_rule_name_is_a_field_message(guild, other_guild):
    make_bonus_rule(guild, name="10k club")
    make_bonus_rule(other_guild, name="Weekly winner")
    with guild_scope(guild.pk), pytest.raises(BonusRuleRefused) as refused:
        save_bonus_rule(guild_id=guild.pk, data=GOOD_RULE, actor=ACTOR)
    assert refused.value.fields == {"name": "Another bonus rule already has this name."}
    with guild_scope(guild.pk):  # another guild's name is free to use
        save_bonus_rule(guild_id=guild.pk, data={**GOOD_RULE, "name": "Weekly winner"}, actor=ACTOR)


def test_rule_create_and_update_are_audited(guild):
    with guild_scope(guild.pk):
        rule = save_bonus_rule(guild_id=guild.pk, data=GOOD_RULE, actor=ACTOR)
        assert (rule.amount, rule.currency, rule.active, rule.place) == (Decimal("25.00"), "USD", True, None)
        save_bonus_rule(guild_id=guild.pk, rule=rule, data={"kind": "top_n", "place": "3"}, actor=ACTOR)
        save_bonus_rule(guild_id=guild.pk, rule=rule, data={"amount": "25"}, actor=ACTOR)  # no change
        stored = BonusRule.objects.get(pk=rule.pk)
    assert (stored.kind, stored.place, stored.min_views_gained) == ("top_n", 3, None)
    created, updated = _audit(guild)
    assert created.action == "bonus_rule.create" and created.before is None
    assert created.after == {
        "name": "10k club",
        "kind": "threshold",
        "min_views_gained": 10000,
        "place": None,
        "amount": "25.00",
        "currency": "USD",
        "active": True,
    }
    assert updated.action == "bonus_rule.update"
    assert updated.before == {"kind": "threshold", "min_views_gained": 10000, "place": None}
    assert updated.after == {"kind": "top_n", "min_views_gained": None, "place": 3}


@factory
def _award(rule, creator):
    BonusAward.objects.create(
        guild_id=rule.guild_id,
        creator=creator,
        rule=rule,
        week_start=timezone.now().date(),
        views_gained=20_000,
        amount=rule.amount,
    )


def test_rule_with_awards_is_deactivated_not_deleted(guild):
    rule = make_bonus_rule(guild)
    _award(rule, make_creator(guild))
    with guild_scope(guild.pk):
        assert delete_bonus_rule(guild_id=guild.pk, rule=rule, actor=ACTOR) == "deactivated"
        assert BonusRule.objects.get(pk=rule.pk).active is False
        assert delete_bonus_rule(guild_id=guild.pk, rule=rule, actor=ACTOR) == "deactivated"  # again: no-op
    [entry] = _audit(guild)
    assert (entry.action, entry.before, entry.after) == ("bonus_rule.deactivate", {"active": True}, {"active": False})


def test_rule_without_awards_is_deleted(guild):
    rule = make_bonus_rule(guild, name="Gone")
    with guild_scope(guild.pk):
        assert delete_bonus_rule(guild_id=guild.pk, rule=rule, actor=ACTOR) == "deleted"
        assert not BonusRule.objects.filter(pk=rule.pk).exists()
    [entry] = _audit(guild)
    assert entry.action == "bonus_rule.delete" and entry.before["name"] == "Gone"


def test_api_delete_of_an_awarded_rule_deactivates_it(admin_client, guild):
    rule = make_bonus_rule(guild)
    _award(rule, make_creator(guild))
    r = admin_client.delete(f"/api/v1/guilds/{guild.pk}/bonus-rules/{rule.pk}")
    assert r.status_code == 200
    assert r.json()["result"] == "deactivated" and r.json()["message"] == RULE_DEACTIVATED
    assert r.json()["rule"]["active"] is False


# --- fraud thresholds ------------------------------------------------------------------------------


def test_api_shows_and_changes_the_fraud_thresholds_audited(admin_client, guild):
    url = f"/api/v1/guilds/{guild.pk}/"
    shown = admin_client.get(url).json()
    assert shown["fraud_spike_min_views"] == 10_000 and shown["fraud_spike_max_engagement_pct"] == "0.20"
    assert (shown["fraud_views_drop_min"], shown["fraud_views_drop_pct"]) == (100, "1.00")
    assert (shown["fraud_engagement_drop_min"], shown["fraud_engagement_drop_pct"]) == (50, "10.00")
    changes = {"fraud_spike_min_views": 5_000, "fraud_spike_max_engagement_pct": 0.5, "fraud_views_drop_pct": "2.5"}
    r = admin_client.patch(url, changes, content_type="application/json")
    assert r.status_code == 200
    body = r.json()
    assert (body["fraud_spike_min_views"], body["fraud_spike_max_engagement_pct"]) == (5_000, "0.50")
    assert body["fraud_views_drop_pct"] == "2.50"
    stored = _guild(guild)
    assert (stored.fraud_spike_min_views, stored.fraud_spike_max_engagement_pct) == (5_000, Decimal("0.50"))
    [entry] = _audit(guild)
    assert entry.before == {
        "fraud_spike_min_views": 10_000,
        "fraud_spike_max_engagement_pct": "0.20",
        "fraud_views_drop_pct": "1.00",
    }
    assert entry.after["fraud_spike_max_engagement_pct"] == "0.50"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"fraud_spike_min_views": -1}, "fraud_spike_min_views", "Must be a whole number from 1 to 1,000,000,000."),
        ({"fraud_spike_min_views": 0}, "fraud_spike_min_views", "from 1 to"),
        ({"fraud_spike_min_views": 10**12}, "fraud_spike_min_views", "from 1 to 1,000,000,000"),
        ({"fraud_spike_min_views": 1.5}, "fraud_spike_min_views", "whole number"),
        ({"fraud_spike_max_engagement_pct": 0}, "fraud_spike_max_engagement_pct", "0 % would never flag a spike."),
        ({"fraud_spike_max_engagement_pct": "NaN"}, "fraud_spike_max_engagement_pct", "above 0 to 100"),
        ({"fraud_spike_max_engagement_pct": None}, "fraud_spike_max_engagement_pct", "above 0 to 100"),
        ({"fraud_views_drop_min": -10}, "fraud_views_drop_min", "from 0 to 1,000,000,000"),
        ({"fraud_views_drop_pct": 100}, "fraud_views_drop_pct", "from 0 to 99.99"),
        ({"fraud_engagement_drop_pct": "1e400"}, "fraud_engagement_drop_pct", "from 0 to 99.99"),
        ({"fraud_engagement_drop_pct": 1.005}, "fraud_engagement_drop_pct", "at most 2 decimals"),
        ({"fraud_engagement_drop_min": True}, "fraud_engagement_drop_min", "whole number"),
    ],
)
def test_api_refuses_a_bad_threshold_with_its_message_and_saves_nothing(admin_client, guild, changes, field, message):
    body = {"timezone": "Europe/Paris", "fraud_views_drop_min": 10, **changes}
    r = admin_client.patch(f"/api/v1/guilds/{guild.pk}/", body, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid"
    assert message in r.json()["error"]["fields"][field][0]
    stored = _guild(guild)
    assert (stored.timezone, stored.fraud_views_drop_min) == ("UTC", 100)
    assert getattr(stored, field) == Guild._meta.get_field(field).default
    assert _audit(guild) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fraud_spike_min_views", 0),
        ("fraud_spike_min_views", 1_000_000_001),
        ("fraud_spike_max_engagement_pct", Decimal("0")),
        ("fraud_views_drop_pct", Decimal("100")),
        ("fraud_engagement_drop_min", 1_000_000_001),
    ],
)
def test_the_admin_form_refuses_the_same_out_of_range_thresholds(guild, field, value):
    from django.core.exceptions import ValidationError

    stored = _guild(guild)
    setattr(stored, field, value)
    with pytest.raises(ValidationError) as refused:
        stored.full_clean()
    assert set(refused.value.message_dict) == {field}
