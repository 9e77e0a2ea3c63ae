"""Editing client accounts, bonus rules and guild settings on the dashboard: admins change them
through the same services as the REST API (same rules, same messages, same audit); managers only
look; another guild's objects are a 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.tenancy import guild_scope
from guilds.bonus_rules import RULE_DEACTIVATED
from guilds.models import BonusRule, DashboardAuditLog, Guild
from metrics.models import BonusAward
from tests.dashboard.conftest import log_in, use_cookies
from tests.factories import factory, make_bonus_rule, make_client_account, make_creator
from tracking.models import ClientAccount

pytestmark = pytest.mark.django_db

WEBHOOK = "https://discord.com/api/webhooks/1234567890123456789/s3cr3t-T0ken_abcdefghijklmnopqrstuvwxyz"
MASKED = "https://discord.com/api/webhooks/1234567890123456789/***"
RULE = {"name": "10k club", "kind": "threshold", "min_views_gained": "10000", "place": "", "amount": "25.00"}
RULE |= {"currency": "USD", "active": "on"}
CLIENT = {"name": "Northwind", "payout_model": "cpm", "cpm_rate": "1.50", "counting_window_days": "30"}
CLIENT |= {"required_tags": "#Northwind\n@northwindhq", "banned_words": "cheap", "active": "on"}
SETTINGS = {"logs_channel_id": "", "updates_channel_id": "", "logs_webhook_url": "", "updates_webhook_url": ""}
SETTINGS |= {"timezone": "UTC", "daily_report_hour": "9"}


def url(name, *args) -> str:
    return reverse(f"dashboard:{name}", args=args)


def _audit(guild) -> list[DashboardAuditLog]:
    with guild_scope(guild.pk):
        return list(DashboardAuditLog.objects.filter(guild=guild).order_by("pk"))


def _rules(guild) -> list[BonusRule]:
    with guild_scope(guild.pk):
        return list(BonusRule.objects.for_guild(guild).order_by("pk"))


def _clients(guild) -> list[ClientAccount]:
    with guild_scope(guild.pk):
        return list(ClientAccount.objects.for_guild(guild).order_by("pk"))


def _guild(guild) -> Guild:
    with guild_scope(guild.pk):
        return Guild.objects.get(pk=guild.pk)


def _field_errors(response) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


# --- bonus rules ------------------------------------------------------------------------------------


def test_admin_creates_edits_and_deletes_a_bonus_rule(admin_client, guild):
    page = admin_client.get(url("bonus-rules", guild.pk)).content.decode()
    assert "New bonus rule" in page
    r = admin_client.post(url("bonus-rule-new", guild.pk), RULE)
    assert (r.status_code, r["Location"]) == (302, url("bonus-rules", guild.pk))
    [rule] = _rules(guild)
    assert (rule.name, rule.min_views_gained, str(rule.amount), rule.active) == ("10k club", 10_000, "25.00", True)
    assert "Bonus rule 10k club created." in admin_client.get(url("bonus-rules", guild.pk)).content.decode()

    edit = admin_client.get(url("bonus-rule-edit", guild.pk, rule.pk)).content.decode()
    assert 'value="10k club"' in edit and "Delete rule" in edit
    changes = {**RULE, "kind": "top_n", "place": "1", "amount": "50"}
    assert admin_client.post(url("bonus-rule-edit", guild.pk, rule.pk), changes).status_code == 302
    [rule] = _rules(guild)
    assert (rule.kind, rule.place, rule.min_views_gained, str(rule.amount)) == ("top_n", 1, None, "50.00")

    assert admin_client.post(url("bonus-rule-delete", guild.pk, rule.pk)).status_code == 302
    assert _rules(guild) == []
    assert "Bonus rule 10k club deleted." in admin_client.get(url("bonus-rules", guild.pk)).content.decode()
    actions = [(e.action, e.actor_user_id) for e in _audit(guild)]
    me = admin_client.logged_in.user.pk
    assert actions == [("bonus_rule.create", me), ("bonus_rule.update", me), ("bonus_rule.delete", me)]


@factory
def _award(rule):
    BonusAward.objects.create(
        guild_id=rule.guild_id,
        creator=make_creator.__wrapped__(rule.guild),
        rule=rule,
        week_start=timezone.now().date(),
        views_gained=20_000,
        amount=rule.amount,
    )


def test_deleting_an_awarded_rule_deactivates_it_and_says_so(admin_client, guild):
    rule = make_bonus_rule(guild, name="Paid out")
    _award(rule)
    r = admin_client.post(url("bonus-rule-delete", guild.pk, rule.pk), follow=True)
    assert RULE_DEACTIVATED in r.content.decode()
    [kept] = _rules(guild)
    assert kept.active is False


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"min_views_gained": "0"}, "min_views_gained", "Must be a whole number from 1 to"),
        ({"kind": "top_n", "place": "101"}, "place", "Must be a whole number from 1 to 100."),
        ({"kind": "top_n", "place": ""}, "place", "A top-N rule needs place (1 = first)."),
        ({"amount": "-5"}, "amount", "at most 2 decimals"),
        ({"amount": "2.555"}, "amount", "at most 2 decimals"),
        ({"currency": "dollars"}, "currency", "three-letter"),
    ],
)
def test_bad_bonus_rule_is_a_400_with_the_field_message(admin_client, guild, changes, field, message):
    r = admin_client.post(url("bonus-rule-new", guild.pk), {**RULE, **changes})
    assert r.status_code == 400
    assert "Nothing was saved" in r.content.decode()
    assert message in _field_errors(r)[field][0]
    assert _rules(guild) == [] and _audit(guild) == []


def test_duplicate_rule_name_is_refused_on_the_page(admin_client, guild):
    make_bonus_rule(guild, name="10k club")
    r = admin_client.post(url("bonus-rule-new", guild.pk), RULE)
    assert r.status_code == 400
    assert _field_errors(r) == {"name": ["Another bonus rule already has this name."]}


# --- client accounts --------------------------------------------------------------------------------


def test_admin_creates_and_edits_a_client_account(admin_client, guild):
    social = {"social_tiktok": "@NorthWind", "social_youtube": ""}
    r = admin_client.post(url("client-new", guild.pk), {**CLIENT, **social})
    assert (r.status_code, r["Location"]) == (302, url("clients", guild.pk))
    [account] = _clients(guild)
    assert account.required_tags == ["#northwind", "@northwindhq"]
    assert account.social_accounts == {"tiktok": "northwind"}
    page = admin_client.get(url("clients", guild.pk)).content.decode()
    assert "Client account Northwind created." in page and "Edit" in page

    edit = admin_client.get(url("client-edit", guild.pk, account.pk)).content.decode()
    assert "#northwind\n@northwindhq" in edit and 'value="northwind"' in edit
    changes = {**CLIENT, "social_tiktok": "northwind", "counting_window_days": "60"}
    changes.pop("active")  # an unticked box: inactive
    assert admin_client.post(url("client-edit", guild.pk, account.pk), changes).status_code == 302
    [account] = _clients(guild)
    assert (account.counting_window_days, account.active) == (60, False)
    created, opened, updated = _audit(guild)
    assert created.action == "client_account.create"
    assert (opened.action, opened.after["name"]) == ("campaign.create", "Northwind")  # its campaign
    assert updated.before == {"counting_window_days": 30, "active": True}
    assert updated.after == {"counting_window_days": 60, "active": False}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"counting_window_days": "0"}, "counting_window_days", "from 1 to 365"),
        ({"cpm_rate": "abc"}, "cpm_rate", "at most 2 decimals"),
        ({"required_tags": "#ok, no way"}, "required_tags", "is not a tag"),
        ({"social_x": "https://example.com/brand"}, "social_x", ""),
        ({"name": ""}, "name", "1 to 100 characters"),
    ],
)
def test_bad_client_account_is_a_400_with_the_field_message(admin_client, guild, changes, field, message):
    r = admin_client.post(url("client-new", guild.pk), {**CLIENT, **changes})
    assert r.status_code == 400
    assert message in _field_errors(r)[field][0]
    assert _clients(guild) == [] and _audit(guild) == []


# --- guild settings ---------------------------------------------------------------------------------


def test_admin_changes_the_settings_and_the_webhook_stays_secret(admin_client, guild):
    page = admin_client.get(url("settings", guild.pk))
    assert page.status_code == 200 and 'aria-current="page">Settings' in page.content.decode()
    changes = {**SETTINGS, "logs_channel_id": "1234567890123456789", "logs_webhook_url": WEBHOOK}
    changes |= {"timezone": "Europe/Paris", "daily_report_hour": "18"}
    r = admin_client.post(url("settings", guild.pk), changes)
    assert (r.status_code, r["Location"]) == (302, url("settings", guild.pk))
    stored = _guild(guild)
    assert (stored.logs_channel_id, stored.logs_webhook_url) == ("1234567890123456789", WEBHOOK)
    assert (stored.timezone, stored.daily_report_hour) == ("Europe/Paris", 18)
    body = admin_client.get(url("settings", guild.pk)).content.decode()
    assert "Settings saved." in body and MASKED in body and "s3cr3t" not in body
    audit_page = admin_client.get(url("audit", guild.pk)).content.decode()
    assert "s3cr3t" not in audit_page
    [entry] = _audit(guild)
    assert entry.after["logs_webhook_url"] == MASKED

    # blank keeps the stored webhook; "remove" clears it
    assert admin_client.post(url("settings", guild.pk), {**changes, "logs_webhook_url": ""}).status_code == 302
    assert _guild(guild).logs_webhook_url == WEBHOOK
    admin_client.post(url("settings", guild.pk), {**changes, "logs_webhook_url": "", "clear_logs_webhook_url": "on"})
    assert _guild(guild).logs_webhook_url == ""


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"logs_channel_id": "general"}, "logs_channel_id", "15 to 19 digits"),
        ({"updates_webhook_url": "https://example.com/hook"}, "updates_webhook_url", "discord.com/api/webhooks"),
        ({"timezone": "Mars/Olympus"}, "timezone", "is not an IANA time zone"),
        ({"daily_report_hour": "25"}, "daily_report_hour", "from 0 to 23"),
    ],
)
def test_bad_settings_are_a_400_and_change_nothing(admin_client, guild, changes, field, message):
    r = admin_client.post(url("settings", guild.pk), {**SETTINGS, **changes})
    assert r.status_code == 400
    assert message in _field_errors(r)[field][0]
    stored = _guild(guild)
    assert (stored.timezone, stored.daily_report_hour, stored.logs_channel_id) == ("UTC", 9, "")
    assert _audit(guild) == []


def test_a_typed_webhook_url_is_kept_when_the_form_reports_an_error_and_a_stored_one_never_shown(admin_client, guild):
    r = admin_client.post(url("settings", guild.pk), {**SETTINGS, "logs_webhook_url": WEBHOOK, "timezone": "Mars/X"})
    assert r.status_code == 400
    assert f'value="{WEBHOOK}"' in r.content.decode()  # not typed again
    assert admin_client.post(url("settings", guild.pk), {**SETTINGS, "logs_webhook_url": WEBHOOK}).status_code == 302
    assert "s3cr3t" not in admin_client.get(url("settings", guild.pk)).content.decode()  # stored: masked only


# --- who may change what ----------------------------------------------------------------------------


def test_manager_sees_but_cannot_change(manager_client, guild):
    rule = make_bonus_rule(guild)
    account = make_client_account(guild)
    assert "New bonus rule" not in manager_client.get(url("bonus-rules", guild.pk)).content.decode()
    assert "New client account" not in manager_client.get(url("clients", guild.pk)).content.decode()
    settings_page = manager_client.get(url("settings", guild.pk)).content.decode()
    assert "read only" in settings_page and "Save settings" not in settings_page and "disabled" in settings_page
    for path in (url("bonus-rule-new", guild.pk), url("client-edit", guild.pk, account.pk)):
        assert manager_client.get(path).status_code == 403
    posts = [
        (url("bonus-rule-new", guild.pk), RULE),
        (url("bonus-rule-edit", guild.pk, rule.pk), RULE),
        (url("bonus-rule-delete", guild.pk, rule.pk), {}),
        (url("client-new", guild.pk), CLIENT),
        (url("settings", guild.pk), {**SETTINGS, "timezone": "Europe/Paris"}),
    ]
    for path, data in posts:
        assert manager_client.post(path, data).status_code == 403, path
    assert len(_rules(guild)) == 1 and len(_clients(guild)) == 1 and _guild(guild).timezone == "UTC"
    assert _audit(guild) == []


def test_another_guilds_objects_are_a_404(admin_client, guild, other_guild):
    rule = make_bonus_rule(other_guild)
    account = make_client_account(other_guild)
    for path in (
        url("bonus-rule-edit", guild.pk, rule.pk),
        url("bonus-rule-delete", guild.pk, rule.pk),
        url("client-edit", guild.pk, account.pk),
        url("settings", other_guild.pk),
        url("bonus-rule-new", other_guild.pk),
        url("client-new", other_guild.pk),
    ):
        assert admin_client.post(path, RULE).status_code == 404, path
    with guild_scope(other_guild.pk):
        assert BonusRule.objects.filter(pk=rule.pk, active=True).exists()


def test_changes_need_the_csrf_token(guild):
    strict = Client(enforce_csrf_checks=True)
    use_cookies(strict, log_in(guilds=[(guild, "admin")]))
    assert strict.post(url("bonus-rule-new", guild.pk), RULE).status_code == 403
    assert strict.post(url("settings", guild.pk), {**SETTINGS, "timezone": "Europe/Paris"}).status_code == 403
    assert _rules(guild) == [] and _guild(guild).timezone == "UTC"


# --- the API and the dashboard refuse the same input the same way ---------------------------------

PARITY = [
    ("bonus-rules", {**RULE, "kind": "top_n", "place": "0"}, "place", "place"),
    ("bonus-rules", {**RULE, "min_views_gained": "0"}, "min_views_gained", "min_views_gained"),
    ("bonus-rules", {**RULE, "amount": "1.001"}, "amount", "amount"),
    ("client-accounts", {**CLIENT, "counting_window_days": "400"}, "counting_window_days", "counting_window_days"),
    ("client-accounts", {**CLIENT, "required_tags": ["#fine", "two words"]}, "required_tags", "required_tags"),
    (
        "client-accounts",
        {**CLIENT, "social_accounts": {"tiktok": "bad handle!"}},
        "social_accounts.tiktok",
        "social_tiktok",
    ),
    ("settings", {"logs_channel_id": "42"}, "logs_channel_id", "logs_channel_id"),
    ("settings", {"logs_webhook_url": "https://example.com/x"}, "logs_webhook_url", "logs_webhook_url"),
    ("settings", {"timezone": "Nowhere/Else"}, "timezone", "timezone"),
    ("settings", {"fraud_spike_min_views": "0"}, "fraud_spike_min_views", "fraud_spike_min_views"),
    ("settings", {"fraud_views_drop_pct": "100"}, "fraud_views_drop_pct", "fraud_views_drop_pct"),
]


def _dashboard_post(kind: str, guild, data: dict) -> dict:
    form = {k: v for k, v in data.items() if k != "social_accounts"}
    if isinstance(form.get("required_tags"), list):
        form["required_tags"] = "\n".join(form["required_tags"])
    for platform, handle in data.get("social_accounts", {}).items():
        form[f"social_{platform}"] = handle
    path = {"bonus-rules": "bonus-rule-new", "client-accounts": "client-new", "settings": "settings"}[kind]
    return {**SETTINGS, **form} if kind == "settings" else form, url(path, guild.pk)


@pytest.mark.parametrize(("kind", "data", "api_field", "form_field"), PARITY)
def test_api_and_dashboard_refuse_alike(client, guild, kind, data, api_field, form_field):
    who = log_in(guilds=[(guild, "admin")])
    api_path = f"/api/v1/guilds/{guild.pk}/" if kind == "settings" else f"/api/v1/guilds/{guild.pk}/{kind}"
    send = client.patch if kind == "settings" else client.post
    api = send(api_path, data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {who.access_token}")
    assert api.status_code == 400
    api_message = api.json()["error"]["fields"][api_field]
    form_data, path = _dashboard_post(kind, guild, data)
    use_cookies(client, who)
    page = client.post(path, form_data)
    assert page.status_code == 400
    assert _field_errors(page)[form_field] == api_message
    assert _rules(guild) == [] and _clients(guild) == [] and _audit(guild) == []
