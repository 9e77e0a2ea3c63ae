"""The campaign page: burn, effective CPM and top posts — the numbers the API gives — a chart of money
used per day, and brand report links an admin makes (shown once), lists and revokes."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from earnings.models import BrandReportLink
from guilds.models import DashboardAuditLog
from tests.earnings.test_statements import _campaign_with_money
from tests.factories import make_campaign

pytestmark = pytest.mark.django_db


def _testid(body: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', body)
    assert match, name
    return match.group(1).strip()


def _page(client, guild, campaign, **kw):
    return client.get(reverse("dashboard:campaign", args=[guild.pk, campaign.pk]), **kw)


def test_campaign_page_numbers_equal_the_api(admin_client, guild):
    campaign, _, _ = _campaign_with_money(guild)
    money = admin_client.get(reverse("dashboard:money", args=[guild.pk])).content.decode()
    assert reverse("dashboard:campaign", args=[guild.pk, campaign.pk]) in money  # linked from the Money page
    assert "Approved payouts XLSX" in money
    body = _page(admin_client, guild, campaign).content.decode()
    api = admin_client.get(f"/api/v1/guilds/{guild.pk}/campaigns/{campaign.pk}/report").json()
    assert api["burn"]["pending"] == _testid(body, "burn-pending") == "12.00"
    assert api["burn"]["held"] == _testid(body, "burn-held") == "4.50"
    assert api["burn"]["spent"] == _testid(body, "burn-spent") == "0.00"
    assert api["spend"] == _testid(body, "report-spend") == "12.00"
    assert api["effective_cpm"] == _testid(body, "report-cpm") == "1.50"
    assert re.search(rf'data-testid="report-views" data-value="{api["views"]}"', body) and api["views"] == 8000
    top = body[body.index('data-testid="campaign-top-posts"') :]
    assert [p["amount"] for p in api["top_posts"]] == ["12.00"] and top.count("12.00") == 1
    chart = json.loads(re.search(r'<script id="burn-data" type="application/json">(.*?)</script>', body).group(1))
    series = admin_client.get(f"/api/v1/guilds/{guild.pk}/campaigns/{campaign.pk}/burn-series").json()
    assert chart["days"] == [d["date"] for d in series["days"]]
    assert chart["used"] == [d["used"] for d in series["days"]] and chart["used"][-1] == "16.50"
    assert 'data-chart="money"' in body


def test_admin_makes_a_link_sees_it_once_and_revokes_it(admin_client, guild, bypass):
    campaign, _, _ = _campaign_with_money(guild)
    made = admin_client.post(
        reverse("dashboard:brand-link-create", args=[guild.pk, campaign.pk]), {"expires_in_days": "7"}
    )
    assert made.status_code == 200
    url = re.search(r'id="issued-url" class="input-wide" readonly value="([^"]+)"', made.content.decode()).group(1)
    path = re.sub(r"^https?://[^/]+", "", url)
    assert Client().get(path).status_code == 200
    later = _page(admin_client, guild, campaign).content.decode()
    assert path.split("/")[2] not in later and "active" in later  # listed, never shown again
    with bypass():
        link = BrandReportLink.objects.get()
    revoked = admin_client.post(reverse("dashboard:brand-link-revoke", args=[guild.pk, campaign.pk, link.pk]))
    assert revoked.status_code == 302
    assert "Report link revoked" in admin_client.get(revoked.url).content.decode()
    assert Client().get(path).status_code == 410
    with bypass():
        actions = sorted(
            DashboardAuditLog.objects.filter(target_type="brand_report_link").values_list("action", flat=True)
        )
    assert actions == ["brand_link.create", "brand_link.revoke"]


def test_bad_expiry_on_the_page_is_a_400_with_the_reason(admin_client, guild, bypass):
    campaign, _, _ = _campaign_with_money(guild)
    r = admin_client.post(
        reverse("dashboard:brand-link-create", args=[guild.pk, campaign.pk]), {"expires_in_days": "400"}
    )
    assert r.status_code == 400
    assert "A link lasts from 1 to 180 days" in r.content.decode()
    with bypass():
        assert not BrandReportLink.objects.exists()


def test_manager_sees_the_campaign_but_cannot_make_links(manager_client, guild, bypass):
    campaign, _, _ = _campaign_with_money(guild)
    page = _page(manager_client, guild, campaign).content.decode()
    assert "Create a report link" not in page and _testid(page, "report-spend") == "12.00"
    r = manager_client.post(reverse("dashboard:brand-link-create", args=[guild.pk, campaign.pk]))
    assert r.status_code == 403
    with bypass():
        assert not BrandReportLink.objects.exists()


def test_another_guilds_campaign_is_a_404(admin_client, guild, other_guild):
    theirs = make_campaign(other_guild)
    assert admin_client.get(reverse("dashboard:campaign", args=[guild.pk, theirs.pk])).status_code == 404
    assert admin_client.get(reverse("dashboard:campaign", args=[other_guild.pk, theirs.pk])).status_code == 404
