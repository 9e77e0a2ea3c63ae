"""The demo guild shows the money: two currencies with caps, a held post, a finalized post, an
approved and a paid statement, a campaign near its budget — and a rerun adds none of them again."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from earnings.models import BrandReportLink, LedgerEntry, PostFinalization, Statement
from earnings.selectors import campaign_burn
from tracking.demo import DEMO_GUILD_ID
from tracking.models import Campaign, Post

pytestmark = pytest.mark.django_db


def _state():
    with rls_bypass(reason="test"):
        return {
            "campaigns": Campaign.objects.count(),
            "finalized": PostFinalization.objects.count(),
            "statements": sorted(Statement.objects.values_list("status", flat=True)),
            "ledger": LedgerEntry.objects.count(),
            "held": Post.objects.filter(status=Post.Status.FLAGGED).count(),
            "brand_links": list(BrandReportLink.objects.values_list("pk", "revoked_at")),
            "bonuses": sorted(
                LedgerEntry.objects.filter(bonus_award__isnull=False).values_list("kind", "bonus_award__rule__name")
            ),
        }


def test_demo_money_is_all_there_and_rerunning_adds_nothing(client):
    out = io.StringIO()
    call_command("load_demo_data", "--no-staff", "--force", stdout=out)
    first = _state()
    printed = re.search(
        r"Brand report \(read-only, no login\): http://127\.0\.0\.1:8000(/brand-report/\S+/)", out.getvalue()
    )
    assert printed and len(first["brand_links"]) == 1 and first["brand_links"][0][1] is None
    report = client.get(printed.group(1))
    assert report.status_code == 200 and "Acme Energy" in report.content.decode()
    with rls_bypass(reason="test"):
        campaigns = list(Campaign.objects.all())
        posts_without_campaign = Post.objects.filter(campaign__isnull=True).count()
        paid = Statement.objects.get(status="paid")
    assert {c.currency for c in campaigns} == {"USD", "EUR"}
    assert any(c.post_cap and c.creator_cap for c in campaigns)
    assert posts_without_campaign == 0
    assert first["held"] == 1 and first["finalized"] > 0
    assert "approved" in first["statements"] and paid.payment_reference == "PAYPAL-DEMO-7Q2"
    near = next(c for c in campaigns if c.currency == "EUR")
    with guild_scope(DEMO_GUILD_ID):
        burn = campaign_burn(guild_id=DEMO_GUILD_ID, campaign=near, at=timezone.now())
    assert Decimal("85") <= burn.percent_used < Decimal("100")
    assert first["bonuses"] == [("bonus", "Runner-up"), ("bonus", "Top clipper"), ("payment", "Top clipper")]

    again = io.StringIO()
    call_command("load_demo_data", "--no-staff", "--force", stdout=again)
    assert _state() == first
    assert printed.group(1) in again.getvalue()  # the same link, not a new one
