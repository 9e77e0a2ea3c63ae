"""Weekly bonuses are ledger entries: each award is booked once as a ``bonus`` entry in its rule's
currency, reported beside the earnings contract, counted in /stats and paid once.

The week (Europe/Paris) and the views are those of tests/metrics/test_reports_and_bonuses.py: alice
gained 5,000, bob 2,400, carol 0. Rules: "5k club" (≥ 2,400 views, 10.00 EUR) and "Winner" (first
place, 50.00 EUR) → alice 10.00 + 50.00 = 60.00, bob 10.00; 70.00 EUR in all.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from core.tenancy import guild_scope
from earnings.models import LedgerEntry
from earnings.selectors import creator_money, earnings, earnings_document
from earnings.services import MoneyRefused, book_bonuses, creator_balance, pay_bonus, settle_money
from guilds.models import BonusRule, DashboardAuditLog
from metrics.bonuses import award_week
from metrics.models import BonusAward
from tests.factories import make_bonus_rule, make_campaign
from tests.helpers.api import ADMINISTRATOR, MANAGE_GUILD, grant, login, make_dashboard_user
from tests.helpers.races import race
from tests.metrics.test_reports_and_bonuses import WEEK, local, world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def awarded(world):  # noqa: F811
    guild, posts = world
    make_bonus_rule(
        guild, name="5k club", kind=BonusRule.Kind.THRESHOLD, min_views_gained=2400, amount=10, currency="EUR"
    )
    make_bonus_rule(
        guild, name="Winner", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=1, amount=50, currency="EUR"
    )
    assert award_week(guild_id=guild.pk, week_start=WEEK, now=local(23, 9)).created == 3
    return guild, {name: creator for name, (creator, _post) in posts.items()}


def _entries(guild):
    with guild_scope(guild.pk):
        rows = LedgerEntry.objects.for_guild(guild.pk).order_by("creator__username", "amount")
        return [(e.creator.username, e.kind, e.amount, e.currency, e.reason) for e in rows]


def test_each_award_is_booked_once_in_its_rules_currency(awarded, bypass):
    guild, people = awarded
    assert settle_money(guild_id=guild.pk, now=local(23, 10))["bonuses_booked"] == 3
    assert _entries(guild) == [
        ("alice", "bonus", Decimal("10.00"), "EUR", "5k club, week of 2026-11-16"),
        ("alice", "bonus", Decimal("50.00"), "EUR", "Winner, week of 2026-11-16"),
        ("bob", "bonus", Decimal("10.00"), "EUR", "5k club, week of 2026-11-16"),
    ]
    assert settle_money(guild_id=guild.pk, now=local(23, 11))["bonuses_booked"] == 0  # idempotent
    with guild_scope(guild.pk):
        assert creator_balance(guild_id=guild.pk, creator=people["alice"]) == {"EUR": Decimal("60.00")}
    # A later change of the rule changes no award and no entry.
    with bypass():
        BonusRule.objects.filter(guild=guild).update(currency="GBP", amount=99)
    assert {c for _, _, _, c, _ in _entries(guild)} == {"EUR"}
    # The database books an award once, whatever writes it.
    with bypass():
        award = BonusAward.objects.filter(guild=guild).first()
    with guild_scope(guild.pk), pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            guild=guild, creator_id=award.creator_id, bonus_award=award, kind="bonus", amount=1, currency="EUR"
        )


def test_the_award_command_books_at_once(world, bypass, capsys):  # noqa: F811
    guild, _ = world
    make_bonus_rule(guild, name="Winner", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=1, amount=50)
    call_command("award_weekly_bonuses", "--guild", str(guild.pk), "--week", "2026-11-18")
    assert "1 new award booked in the ledger as bonus entries" in capsys.readouterr().out
    assert _entries(guild) == [("alice", "bonus", Decimal("50.00"), "USD", "Winner, week of 2026-11-16")]


def test_bonuses_sit_beside_the_earnings_contract(awarded):
    guild, people = awarded
    with guild_scope(guild.pk):
        book_bonuses(guild_id=guild.pk)
        week = earnings_document(earnings(guild_id=guild.pk, start=local(16, 0), end=local(23, 0)))
        before = earnings_document(earnings(guild_id=guild.pk, start=local(9, 0), end=local(16, 0)))
        campaign = make_campaign(guild)
        one = earnings_document(
            earnings(guild_id=guild.pk, start=local(16, 0), end=local(23, 0), campaign_id=campaign.pk)
        )
    # no campaign money at all: the contract's keys are unchanged and empty
    assert (week["creators"], week["total"], week["held_total"]) == ([], {}, {})
    assert [(b["username"], b["rule"], b["amount"], b["currency"], b["week_start"]) for b in week["bonuses"]] == [
        ("alice", "5k club", "10.00", "EUR", "2026-11-16"),
        ("alice", "Winner", "50.00", "EUR", "2026-11-16"),
        ("bob", "5k club", "10.00", "EUR", "2026-11-16"),
    ]
    assert week["bonus_total"] == {"EUR": "70.00"}
    assert week["bonuses"][0]["discord_user_id"] == people["alice"].discord_user_id
    assert (before["bonuses"], before["bonus_total"]) == ([], {})  # the week before has none
    assert (one["bonuses"], one["bonus_total"]) == ([], {})  # bonuses are no campaign's


def test_stats_money_counts_bonuses_until_paid_and_a_bonus_is_paid_once(awarded, bypass):
    guild, people = awarded
    with guild_scope(guild.pk):
        book_bonuses(guild_id=guild.pk)
        (money,) = creator_money(guild_id=guild.pk, creator_id=people["alice"].pk, at=local(28, 12))
        assert (money.currency, money.earned, money.bonuses, money.paid, money.to_pay) == (
            "EUR",
            Decimal("0.00"),
            Decimal("60.00"),
            Decimal("0.00"),
            Decimal("60.00"),
        )
        winner = LedgerEntry.objects.for_guild(guild.pk).get(creator=people["alice"], amount=50)
        with pytest.raises(MoneyRefused) as refused:
            pay_bonus(guild_id=guild.pk, entry_id=winner.pk, reference=" ", actor="staff:ana")
        assert refused.value.code == "reference_required"
        pay_bonus(guild_id=guild.pk, entry_id=winner.pk, reference="PP-7", actor="staff:ana")
        with pytest.raises(MoneyRefused) as refused:
            pay_bonus(guild_id=guild.pk, entry_id=winner.pk, reference="PP-8", actor="staff:bo")
        assert (refused.value.code, refused.value.status, refused.value.message) == (
            "wrong_state",
            409,
            "This bonus is paid already.",
        )
        (money,) = creator_money(guild_id=guild.pk, creator_id=people["alice"].pk, at=local(28, 12))
        assert (money.bonuses, money.paid, money.to_pay) == (Decimal("60.00"), Decimal("50.00"), Decimal("10.00"))
        assert creator_balance(guild_id=guild.pk, creator=people["alice"]) == {"EUR": Decimal("10.00")}
        audit = DashboardAuditLog.objects.get(guild=guild, action="bonus.paid")
    assert audit.after == {"amount": "50.00", "currency": "EUR", "reference": "PP-7"}


def test_bonuses_through_the_api(awarded, client, bypass):
    guild, people = awarded
    with guild_scope(guild.pk):
        book_bonuses(guild_id=guild.pk)
    admin = make_dashboard_user()
    grant(admin, {guild: ADMINISTRATOR})
    api = login(client, admin)
    url = f"/api/v1/guilds/{guild.pk}/bonuses"
    listed = api.get(url).json()
    assert [(b["username"], b["rule"], b["amount"], b["currency"], b["paid"]) for b in listed] == [
        ("alice", "5k club", "10.00", "EUR", False),
        ("alice", "Winner", "50.00", "EUR", False),
        ("bob", "5k club", "10.00", "EUR", False),
    ]
    bob = next(b for b in listed if b["username"] == "bob")
    assert api.post(f"{url}/{bob['ledger_entry_id']}/pay", {}, content_type="application/json").status_code == 400
    paid = api.post(f"{url}/{bob['ledger_entry_id']}/pay", {"reference": "PP-1"}, content_type="application/json")
    assert paid.status_code == 200
    assert (paid.json()["paid"], paid.json()["payment"]) == (True, "bonus paid, reference PP-1")
    again = api.post(f"{url}/{bob['ledger_entry_id']}/pay", {"reference": "PP-2"}, content_type="application/json")
    assert (again.status_code, again.json()["error"]["message"]) == (409, "This bonus is paid already.")
    assert [b["username"] for b in api.get(url, {"paid": "false"}).json()] == ["alice", "alice"]
    missing = api.post(f"{url}/999999/pay", {"reference": "PP-3"}, content_type="application/json")
    assert missing.status_code == 404
    earnings_doc = api.get(f"/api/v1/guilds/{guild.pk}/earnings", {"start": "2026-11-16", "end": "2026-11-23"}).json()
    assert earnings_doc["bonus_total"] == {"EUR": "70.00"}


def test_a_manager_reads_bonuses_but_cannot_pay_them(awarded, client):
    guild, _ = awarded
    with guild_scope(guild.pk):
        (entry, *_rest) = book_bonuses(guild_id=guild.pk)
    manager = make_dashboard_user(username="mo", discord_id="80351110224678913")
    grant(manager, {guild: MANAGE_GUILD})
    api = login(client, manager)
    assert api.get(f"/api/v1/guilds/{guild.pk}/bonuses").status_code == 200
    r = api.post(
        f"/api/v1/guilds/{guild.pk}/bonuses/{entry.pk}/pay", {"reference": "PP-1"}, content_type="application/json"
    )
    assert r.status_code == 403
    assert date.fromisoformat(api.get(f"/api/v1/guilds/{guild.pk}/bonuses").json()[0]["week_start"]) == WEEK


def test_the_earnings_command_lists_bonuses_apart(awarded, capsys):
    guild, people = awarded
    with guild_scope(guild.pk):
        book_bonuses(guild_id=guild.pk)
    call_command("earnings", "--guild", str(guild.pk), "--start", "2026-11-16", "--end", "2026-11-22")
    out = capsys.readouterr().out
    assert f"Bonus alice {people['alice'].discord_user_id}: Winner, week of 2026-11-16, 50.00 EUR" in out
    assert "Total 0.00, held 0.00\n" in out and "Bonuses 70.00 EUR (not part of the total)" in out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_booking_and_paying_happen_once():
    from tests.factories import make_creator, make_guild

    guild = make_guild()
    kai = make_creator(guild, username="kai")
    rule = make_bonus_rule(guild, name="10k club", amount=25, currency="EUR")
    with guild_scope(guild.pk):
        BonusAward.objects.create(
            guild=guild, creator=kai, rule=rule, week_start=WEEK, views_gained=12_000, amount=25, currency="EUR"
        )
    booked = race(lambda n: len(book_bonuses(guild_id=guild.pk)), guild_id=guild.pk, results=True)
    assert sorted(booked) == [0, 0, 0, 1]
    with guild_scope(guild.pk):
        entry = LedgerEntry.objects.for_guild(guild.pk).get(kind="bonus")
    paid = race(
        lambda n: pay_bonus(guild_id=guild.pk, entry_id=entry.pk, reference=f"PP-{n}", actor=f"s:{n}").kind,
        guild_id=guild.pk,
        results=True,
    )
    assert sorted(paid) == ["payment", "wrong_state", "wrong_state", "wrong_state"]
    with guild_scope(guild.pk):
        assert creator_balance(guild_id=guild.pk, creator=kai) == {"EUR": Decimal("0.00")}
