"""Statements: pending → approved → paid (who, when, reference) or voided with a reason; every
movement is a ledger entry; concurrent approvals and payments change a statement once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.tenancy import guild_scope
from earnings.models import LedgerEntry, Statement
from earnings.services import (
    MoneyRefused,
    approve_statement,
    create_statements,
    creator_balance,
    mark_statement_paid,
    void_statement,
)
from guilds.models import BotCallback, DashboardAuditLog
from tests.factories import make_campaign, make_creator, make_guild, make_post, make_profile, make_snapshot
from tests.helpers.races import race
from tracking.models import Post

T0 = datetime(2026, 11, 2, tzinfo=UTC)
WEEK = (T0, T0 + timedelta(days=7))


def _campaign_with_money(guild):
    campaign = make_campaign(guild, rate_per_1000=Decimal("1.50"), currency="GBP")
    maya, theo = make_creator(guild, username="maya"), make_creator(guild, username="theo")
    for creator, views, status in ((maya, 8_000, Post.Status.TRACKING), (theo, 3_000, Post.Status.FLAGGED)):
        post = make_post(
            guild,
            profile=make_profile(guild, creator=creator),
            client_account=campaign.client_account,
            campaign=campaign,
            submitted_at=T0,
            counting_ends_at=T0 + timedelta(days=30),
            status=status,
        )
        make_snapshot(post, views=0, at=T0)
        make_snapshot(post, views=views, at=T0 + timedelta(days=1))
    return campaign, maya, theo


def _statements(guild, campaign):
    with guild_scope(guild.pk):
        return create_statements(guild_id=guild.pk, campaign=campaign, start=WEEK[0], end=WEEK[1], actor="staff:alice")


@pytest.mark.django_db
def test_statements_carry_payable_money_and_note_held(guild, bypass):
    campaign, maya, theo = _campaign_with_money(guild)
    made = {s.creator_id: s for s in _statements(guild, campaign)}
    assert (made[maya.pk].amount, made[maya.pk].held_amount, made[maya.pk].currency) == (
        Decimal("12.00"),  # 8,000 × 1.50 / 1000
        Decimal("0.00"),
        "GBP",
    )
    assert (made[theo.pk].amount, made[theo.pk].held_amount) == (Decimal("0.00"), Decimal("4.50"))
    assert _statements(guild, campaign) == []  # rerunning the same period creates nothing
    with guild_scope(guild.pk):
        assert creator_balance(guild_id=guild.pk, creator=maya) == {"GBP": Decimal("12.00")}


@pytest.mark.django_db
def test_approve_then_pay_records_who_when_reference_and_the_payment(guild, bypass):
    campaign, maya, _ = _campaign_with_money(guild)
    statement = next(s for s in _statements(guild, campaign) if s.creator_id == maya.pk)
    with guild_scope(guild.pk):
        with pytest.raises(MoneyRefused, match="This statement is pending; it cannot be paid now."):
            mark_statement_paid(guild_id=guild.pk, statement_id=statement.pk, reference="PP-1", actor="staff:bob")
        approve_statement(guild_id=guild.pk, statement_id=statement.pk, actor="staff:alice")
        with pytest.raises(MoneyRefused, match="Give the payment reference"):
            mark_statement_paid(guild_id=guild.pk, statement_id=statement.pk, reference=" ", actor="staff:bob")
        paid = mark_statement_paid(guild_id=guild.pk, statement_id=statement.pk, reference="PP-1", actor="staff:bob")
        with pytest.raises(MoneyRefused, match="This statement is paid; it cannot be voided now."):
            void_statement(guild_id=guild.pk, statement_id=statement.pk, reason="oops", actor="staff:bob")
        assert creator_balance(guild_id=guild.pk, creator=maya) == {"GBP": Decimal("0.00")}
    assert (paid.status, paid.approved_by, paid.paid_by, paid.payment_reference) == (
        "paid",
        "staff:alice",
        "staff:bob",
        "PP-1",
    )
    assert paid.approved_at is not None and paid.paid_at is not None
    with bypass():
        kinds = list(LedgerEntry.objects.filter(statement=statement).values_list("kind", "amount"))
        actions = set(DashboardAuditLog.objects.values_list("action", flat=True))
    assert kinds == [("earning", Decimal("12.00")), ("payment", Decimal("-12.00"))]
    assert {"statement.create", "statement.approved", "statement.paid"} <= actions


@pytest.mark.django_db
def test_void_needs_a_reason_and_reverses_the_earning(guild, bypass):
    campaign, maya, _ = _campaign_with_money(guild)
    statement = next(s for s in _statements(guild, campaign) if s.creator_id == maya.pk)
    with guild_scope(guild.pk):
        with pytest.raises(MoneyRefused, match="Say why the statement is voided."):
            void_statement(guild_id=guild.pk, statement_id=statement.pk, reason="", actor="staff:bob")
        voided = void_statement(guild_id=guild.pk, statement_id=statement.pk, reason="wrong period", actor="staff:bob")
        assert creator_balance(guild_id=guild.pk, creator=maya) == {"GBP": Decimal("0.00")}
    assert (voided.status, voided.void_reason, voided.voided_by) == ("voided", "wrong period", "staff:bob")
    assert len(_statements(guild, campaign)) == 1  # a voided period can be stated again (maya only: theo's is live)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_and_payments_pay_once():
    guild = make_guild()
    campaign, maya, _ = _campaign_with_money(guild)
    statement = next(s for s in _statements(guild, campaign) if s.creator_id == maya.pk)
    approved = race(
        lambda n: approve_statement(guild_id=guild.pk, statement_id=statement.pk, actor=f"staff:{n}"),
        guild_id=guild.pk,
    )
    paid = race(
        lambda n: mark_statement_paid(
            guild_id=guild.pk, statement_id=statement.pk, reference=f"PP-{n}", actor=f"staff:{n}"
        ),
        guild_id=guild.pk,
    )
    assert sorted(approved) == ["ok", "wrong_state", "wrong_state", "wrong_state"]
    assert sorted(paid) == ["ok", "wrong_state", "wrong_state", "wrong_state"]
    with guild_scope(guild.pk):
        assert LedgerEntry.objects.for_guild(guild.pk).filter(kind="payment").count() == 1
        assert Statement.objects.for_guild(guild.pk).get(pk=statement.pk).status == "paid"
        assert creator_balance(guild_id=guild.pk, creator=maya) == {"GBP": Decimal("0.00")}


@pytest.mark.django_db
def test_the_creator_is_told_when_approved_and_when_paid(guild, settings, bypass):
    settings.BOT_CALLBACK_SIGNING_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    settings.BOT_CALLBACK_URL = "http://bot.internal:4000/callbacks"
    campaign, maya, _ = _campaign_with_money(guild)
    statement = next(s for s in _statements(guild, campaign) if s.creator_id == maya.pk)
    with guild_scope(guild.pk):
        approve_statement(guild_id=guild.pk, statement_id=statement.pk, actor="staff:alice")
        mark_statement_paid(guild_id=guild.pk, statement_id=statement.pk, reference="PP-7", actor="staff:alice")
    with bypass():
        events = list(BotCallback.objects.filter(event_type__startswith="statement.").order_by("pk"))
    assert [e.event_type for e in events] == ["statement.approved", "statement.paid"]
    assert events[1].payload == {
        "statement_id": statement.pk,
        "discord_user_id": maya.discord_user_id,
        "campaign_id": campaign.pk,
        "amount": "12.00",
        "currency": "GBP",
        "payment_reference": "PP-7",
    }


# --- statement periods never overlap -------------------------------------------------------------
# maya: 0 views at T0, 8,000 on day 1 (12.00 at 1.50 GBP per 1,000); theo's 3,000 are held (4.50).


def _make(guild, campaign, start, end):
    with guild_scope(guild.pk):
        return create_statements(guild_id=guild.pk, campaign=campaign, start=start, end=end, actor="staff:alice")


def _live(guild) -> list[tuple]:
    with guild_scope(guild.pk):
        rows = Statement.objects.for_guild(guild.pk).exclude(status="voided").order_by("period_start", "creator_id")
        return [(s.creator.username, s.period_start, s.period_end, s.amount) for s in rows]


@pytest.mark.django_db
def test_an_overlapping_period_is_refused_and_nothing_is_written(guild, bypass):
    campaign, maya, _ = _campaign_with_money(guild)
    week = {s.creator_id: s for s in _statements(guild, campaign)}
    with bypass():
        entries = LedgerEntry.objects.count()
    with pytest.raises(MoneyRefused) as refused:
        _make(guild, campaign, T0 - timedelta(days=1), T0 + timedelta(days=3))  # maya: 12.00 in it
    assert (refused.value.code, refused.value.status) == ("period_overlaps", 409)
    assert refused.value.message.startswith(
        f"maya already has statement {week[maya.pk].pk} (pending) for 2026-11-02 00:00 to 2026-11-09 00:00 UTC"
    )
    assert "paid twice" in refused.value.message
    assert len(_live(guild)) == 2  # the week's two, nothing more
    with bypass():
        assert LedgerEntry.objects.count() == entries


@pytest.mark.django_db
def test_a_period_starting_where_the_last_ended_is_fine(guild, bypass):
    campaign, maya, _ = _campaign_with_money(guild)
    _statements(guild, campaign)
    with bypass():
        post = Post.objects.get(creator=maya)
    make_snapshot(post, views=10_000, at=T0 + timedelta(days=8))  # 2,000 more × 1.50 / 1000 = 3.00
    (next_week,) = _make(guild, campaign, WEEK[1], WEEK[1] + timedelta(days=7))
    assert (next_week.creator_id, next_week.amount) == (maya.pk, Decimal("3.00"))


@pytest.mark.django_db
def test_a_voided_statement_does_not_block_its_days(guild, bypass):
    campaign, maya, theo = _campaign_with_money(guild)
    week = _statements(guild, campaign)
    with guild_scope(guild.pk):
        void_statement(guild_id=guild.pk, statement_id=week[0].pk, reason="wrong period", actor="staff:alice")
    with pytest.raises(MoneyRefused) as refused:  # the other creator's week statement is still live
        _make(guild, campaign, T0 - timedelta(days=1), T0 + timedelta(days=3))
    assert refused.value.code == "period_overlaps"
    with guild_scope(guild.pk):
        void_statement(guild_id=guild.pk, statement_id=week[1].pk, reason="wrong period", actor="staff:alice")
    made = _make(guild, campaign, T0 - timedelta(days=1), T0 + timedelta(days=3))
    assert sorted((s.creator_id, s.amount, s.held_amount) for s in made) == sorted(
        [(maya.pk, Decimal("12.00"), Decimal("0.00")), (theo.pk, Decimal("0.00"), Decimal("4.50"))]
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_periods_make_one_statement():
    guild = make_guild()
    campaign, maya, theo = _campaign_with_money(guild)
    outcomes = race(lambda n: _make(guild, campaign, T0 - timedelta(hours=n), T0 + timedelta(days=7, hours=n)))
    assert sorted(outcomes) == ["ok", "period_overlaps", "period_overlaps", "period_overlaps"]
    assert [(name, amount) for name, _, _, amount in _live(guild)] == [
        ("maya", Decimal("12.00")),
        ("theo", Decimal("0.00")),
    ]
    with guild_scope(guild.pk):
        assert creator_balance(guild_id=guild.pk, creator=maya) == {"GBP": Decimal("12.00")}


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_refuses_an_overlap_written_past_the_service(guild):
    from django.db import IntegrityError, transaction

    campaign, maya, _ = _campaign_with_money(guild)
    _statements(guild, campaign)
    with guild_scope(guild.pk), pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.create(
            guild=guild,
            campaign=campaign,
            creator=maya,
            period_start=T0 + timedelta(days=6),
            period_end=T0 + timedelta(days=8),
            currency="GBP",
            amount=Decimal("1.00"),
            created_by="sql",
        )
