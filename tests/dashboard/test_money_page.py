"""The Money page: each campaign's budget burn and the payout queue an admin works through."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.tenancy import guild_scope
from earnings.models import Statement
from earnings.services import create_statements
from tests.earnings.test_statements import WEEK, _campaign_with_money

pytestmark = pytest.mark.django_db


def _queue(guild):
    campaign, maya, theo = _campaign_with_money(guild)
    with guild_scope(guild.pk):
        made = create_statements(guild_id=guild.pk, campaign=campaign, start=WEEK[0], end=WEEK[1], actor="t")
    return campaign, next(s for s in made if s.creator_id == maya.pk)


def _act(client, guild, statement, verb, **data):
    return client.post(reverse("dashboard:statement-action", args=[guild.pk, statement.pk, verb]), data)


def test_money_page_shows_burn_and_queue(admin_client, guild):
    campaign, statement = _queue(guild)
    body = admin_client.get(reverse("dashboard:money", args=[guild.pk])).content.decode()
    assert campaign.name in body
    assert "12.00 GBP" in body  # maya's statement: 8,000 × 1.50 / 1000
    assert "Approve" in body and "Approved payouts CSV" in body


def test_admin_approves_then_pays_with_a_reference(admin_client, guild, bypass):
    _, statement = _queue(guild)
    assert _act(admin_client, guild, statement, "approve").status_code == 302
    page = admin_client.get(_act(admin_client, guild, statement, "pay", reference="").url).content.decode()
    assert "Give the payment reference" in page
    _act(admin_client, guild, statement, "pay", reference="PP-42")
    with bypass():
        paid = Statement.objects.get(pk=statement.pk)
    assert (paid.status, paid.payment_reference, paid.amount) == ("paid", "PP-42", Decimal("12.00"))


def test_manager_sees_the_page_but_cannot_move_money(manager_client, guild, bypass):
    _, statement = _queue(guild)
    page = manager_client.get(reverse("dashboard:money", args=[guild.pk])).content.decode()
    assert "Approve" not in page
    assert _act(manager_client, guild, statement, "approve").status_code == 403
    with bypass():
        assert Statement.objects.get(pk=statement.pk).status == "pending"


def test_money_page_queries_do_not_grow_with_campaigns(admin_client, guild):
    _queue(guild)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(reverse("dashboard:money", args=[guild.pk]))
    for _ in range(3):
        _campaign_with_money(guild)
    with CaptureQueriesContext(connection) as many:
        admin_client.get(reverse("dashboard:money", args=[guild.pk]))
    assert len(many) == len(few)


def _booked_bonus(guild, bypass):
    from earnings.services import book_bonuses
    from metrics.models import BonusAward
    from tests.factories import make_bonus_rule, make_creator

    kai = make_creator(guild, username="kai")
    rule = make_bonus_rule(guild, name="10k club", amount=25, currency="EUR")
    with bypass():
        BonusAward.objects.create(
            guild=guild, creator=kai, rule=rule, week_start="2026-11-16", views_gained=12_000, amount=25, currency="EUR"
        )
    with guild_scope(guild.pk):
        (bonus,) = book_bonuses(guild_id=guild.pk)
    return bonus


def test_admin_pays_a_weekly_bonus_from_the_money_page(admin_client, guild, bypass):
    from earnings.models import LedgerEntry

    bonus = _booked_bonus(guild, bypass)
    page = admin_client.get(reverse("dashboard:money", args=[guild.pk])).content.decode()
    assert "Weekly bonuses to pay" in page and "10k club" in page and "25.00 EUR" in page
    assert "Mark paid" in page
    pay = reverse("dashboard:bonus-pay", args=[guild.pk, bonus.pk])
    refused = admin_client.get(admin_client.post(pay, {"reference": ""}).url).content.decode()
    assert "Give the payment reference" in refused
    done = admin_client.get(admin_client.post(pay, {"reference": "PP-5"}).url).content.decode()
    assert f"Bonus {bonus.pk} marked paid." in done and "No weekly bonus waiting for payment." in done
    with bypass():
        payment = LedgerEntry.objects.get(kind="payment", bonus_award__isnull=False)
    assert (payment.amount, payment.currency, payment.reason) == (
        Decimal("-25.00"),
        "EUR",
        "bonus paid, reference PP-5",
    )


def test_a_manager_sees_bonuses_but_cannot_pay_them(manager_client, guild, bypass):
    bonus = _booked_bonus(guild, bypass)
    page = manager_client.get(reverse("dashboard:money", args=[guild.pk])).content.decode()
    assert "10k club" in page and "Mark paid" not in page
    assert (
        manager_client.post(
            reverse("dashboard:bonus-pay", args=[guild.pk, bonus.pk]), {"reference": "PP-1"}
        ).status_code
        == 403
    )
