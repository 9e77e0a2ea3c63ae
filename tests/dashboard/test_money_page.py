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
