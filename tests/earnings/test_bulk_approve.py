"""Approving several statements at once: all or none, each audited and told as one approval is, and
two bulk approvals racing never approve a statement twice; the weekly bonus payment is told too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.tenancy import guild_scope
from earnings.models import LedgerEntry, Statement
from earnings.services import (
    BULK_APPROVE_LIMIT,
    MoneyRefused,
    approve_statement,
    approve_statements,
    book_bonuses,
    pay_bonus,
    void_statement,
)
from guilds.models import BotCallback, DashboardAuditLog
from metrics.models import BonusAward
from tests.earnings.test_statements import _campaign_with_money, _statements
from tests.factories import make_bonus_rule, make_creator, make_guild
from tests.helpers.api import grant, login, make_dashboard_user
from tests.helpers.races import race

BOT = {
    "BOT_CALLBACK_SIGNING_SECRET": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "BOT_CALLBACK_URL": "http://bot.internal:4000/callbacks",
}


def _two_pending(guild):
    campaign, maya, theo = _campaign_with_money(guild)
    made = {s.creator_id: s for s in _statements(guild, campaign)}
    return made[maya.pk], made[theo.pk]


def _statuses(bypass, *statements) -> list[str]:
    with bypass():
        return [Statement.objects.get(pk=s.pk).status for s in statements]


@pytest.mark.django_db
def test_bulk_approval_approves_each_audited_and_told(guild, settings, bypass):
    for name, value in BOT.items():
        setattr(settings, name, value)
    maya, theo = _two_pending(guild)
    with guild_scope(guild.pk):
        done = approve_statements(guild_id=guild.pk, statement_ids=[maya.pk, theo.pk, maya.pk], actor="staff:alice")
    assert [s.pk for s in done] == [maya.pk, theo.pk]  # a repeated id counts once
    assert _statuses(bypass, maya, theo) == ["approved", "approved"]
    with bypass():
        audits = sorted(
            DashboardAuditLog.objects.filter(action="statement.approved").values_list("target_id", flat=True)
        )
        events = list(BotCallback.objects.filter(event_type="statement.approved").order_by("pk"))
        approved_by = set(Statement.objects.filter(pk__in=[maya.pk, theo.pk]).values_list("approved_by", flat=True))
    assert audits == sorted([str(maya.pk), str(theo.pk)])
    assert [e.payload["statement_id"] for e in events] == [maya.pk, theo.pk]
    assert approved_by == {"staff:alice"}


@pytest.mark.django_db
def test_one_statement_not_pending_stops_them_all_and_says_which(guild, bypass):
    maya, theo = _two_pending(guild)
    with guild_scope(guild.pk):
        approve_statement(guild_id=guild.pk, statement_id=theo.pk, actor="staff:bo")
        with pytest.raises(MoneyRefused) as refused:
            approve_statements(guild_id=guild.pk, statement_ids=[maya.pk, theo.pk], actor="staff:alice")
    assert (refused.value.status, refused.value.code) == (409, "wrong_state")
    assert refused.value.message == (
        f"Nothing was approved: statement {theo.pk} is approved (only pending statements can be approved)."
    )
    assert _statuses(bypass, maya, theo) == ["pending", "approved"]
    with bypass():
        assert DashboardAuditLog.objects.filter(action="statement.approved").count() == 1  # theo's own


@pytest.mark.django_db
def test_a_voided_statement_and_another_servers_id_are_named(guild, bypass):
    maya, theo = _two_pending(guild)
    other = make_guild()
    their, _ = _two_pending(other)
    with guild_scope(guild.pk):
        void_statement(guild_id=guild.pk, statement_id=theo.pk, reason="wrong week", actor="staff:bo")
        with pytest.raises(MoneyRefused) as voided:
            approve_statements(guild_id=guild.pk, statement_ids=[maya.pk, theo.pk], actor="staff:alice")
        with pytest.raises(MoneyRefused) as foreign:
            approve_statements(guild_id=guild.pk, statement_ids=[maya.pk, their.pk, 987654], actor="staff:alice")
    assert voided.value.message.startswith(f"Nothing was approved: statement {theo.pk} is voided")
    assert (foreign.value.status, foreign.value.message) == (
        404,
        f"Nothing was approved: no statement {their.pk}, 987654 in this server.",
    )
    assert _statuses(bypass, maya, their) == ["pending", "pending"]


@pytest.mark.django_db
def test_empty_and_too_many_are_refused(guild):
    with guild_scope(guild.pk):
        with pytest.raises(MoneyRefused, match="Choose at least one pending statement."):
            approve_statements(guild_id=guild.pk, statement_ids=[], actor="staff:alice")
        with pytest.raises(MoneyRefused, match=f"At most {BULK_APPROVE_LIMIT} statements at once"):
            approve_statements(
                guild_id=guild.pk, statement_ids=list(range(1, BULK_APPROVE_LIMIT + 2)), actor="staff:alice"
            )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_approvals_approve_each_statement_once():
    guild = make_guild()
    maya, theo = _two_pending(guild)
    orders = ([theo.pk, maya.pk], [maya.pk, theo.pk])  # locks asked for in both orders
    outcomes = race(
        lambda n: approve_statements(guild_id=guild.pk, statement_ids=orders[n % 2], actor=f"staff:{n}"),
        guild_id=guild.pk,
    )
    assert sorted(outcomes) == ["ok", "wrong_state", "wrong_state", "wrong_state"]
    with guild_scope(guild.pk):
        rows = Statement.objects.for_guild(guild.pk).filter(pk__in=[maya.pk, theo.pk])
        assert sorted(rows.values_list("status", flat=True)) == ["approved", "approved"]
        assert len(set(rows.values_list("approved_by", flat=True))) == 1  # one worker approved both
        assert DashboardAuditLog.objects.filter(guild_id=guild.pk, action="statement.approved").count() == 2


# --- the API ---------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("api_settings")
def test_api_bulk_approve_all_or_none(admin_client, guild, bypass):
    maya, theo = _two_pending(guild)
    url = f"/api/v1/guilds/{guild.pk}/statements/approve"
    with guild_scope(guild.pk):
        approve_statement(guild_id=guild.pk, statement_id=theo.pk, actor="staff:bo")
    conflict = admin_client.post(url, {"ids": [maya.pk, theo.pk]}, content_type="application/json")
    assert conflict.status_code == 409
    assert f"statement {theo.pk} is approved" in conflict.json()["error"]["message"]
    missing = admin_client.post(url, {"ids": [maya.pk, 4242]}, content_type="application/json")
    assert (missing.status_code, missing.json()["error"]["message"]) == (
        404,
        "Nothing was approved: no statement 4242 in this server.",
    )
    assert admin_client.post(url, {"ids": []}, content_type="application/json").status_code == 400
    assert admin_client.post(url, {"ids": ["x"]}, content_type="application/json").status_code == 400
    assert admin_client.post(url, {}, content_type="application/json").status_code == 400
    too_many = list(range(1, BULK_APPROVE_LIMIT + 2))
    assert admin_client.post(url, {"ids": too_many}, content_type="application/json").status_code == 400
    assert _statuses(bypass, maya) == ["pending"]
    done = admin_client.post(url, {"ids": [maya.pk]}, content_type="application/json")
    assert done.status_code == 200
    assert [(s["id"], s["status"], s["amount"]) for s in done.json()] == [(maya.pk, "approved", "12.00")]


@pytest.mark.django_db
@pytest.mark.usefixtures("api_settings")
def test_api_bulk_approve_needs_an_administrator(client, guild, bypass):
    from tests.helpers.api import MANAGE_GUILD

    maya, _ = _two_pending(guild)
    manager = make_dashboard_user(username="bob", discord_id="80351110224678913")
    grant(manager, {guild: MANAGE_GUILD})
    api = login(client, manager, bearer=True)
    answer = api.post(
        f"/api/v1/guilds/{guild.pk}/statements/approve", {"ids": [maya.pk]}, content_type="application/json"
    )
    assert answer.status_code == 403
    assert _statuses(bypass, maya) == ["pending"]


# --- a weekly bonus paid is told to its creator ----------------------------------------------------


@pytest.mark.django_db
def test_the_creator_is_told_privately_when_a_bonus_is_paid_once(guild, settings, bypass):
    for name, value in BOT.items():
        setattr(settings, name, value)
    kai = make_creator(guild, username="kai")
    rule = make_bonus_rule(guild, name="10k club", amount=25, currency="EUR")
    with bypass():
        BonusAward.objects.create(
            guild=guild, creator=kai, rule=rule, week_start="2026-11-16", views_gained=12_000, amount=25, currency="EUR"
        )
    with guild_scope(guild.pk):
        (bonus,) = book_bonuses(guild_id=guild.pk)
        pay_bonus(guild_id=guild.pk, entry_id=bonus.pk, reference="PP-9", actor="staff:ana")
        with pytest.raises(MoneyRefused):
            pay_bonus(guild_id=guild.pk, entry_id=bonus.pk, reference="PP-10", actor="staff:ana")
    with bypass():
        events = list(BotCallback.objects.filter(event_type="bonus.paid"))
        payments = LedgerEntry.objects.filter(kind="payment").count()
    assert payments == 1
    assert [e.payload for e in events] == [
        {
            "ledger_entry_id": bonus.pk,
            "discord_user_id": kai.discord_user_id,
            "rule": "10k club",
            "week_start": "2026-11-16",
            "amount": "25.00",
            "currency": "EUR",
            "payment_reference": "PP-9",
        }
    ]
    assert Decimal(events[0].payload["amount"]) == Decimal("25.00")
