"""Brand report links: an admin makes one (API or dashboard), the brand opens a read-only page with
the campaign's views, spend, effective CPM and top posts — the same numbers as the Money page — and
the link stops opening when it expires or is revoked. Forged links are 404s, nothing leaks across
guilds or campaigns, and opening a link changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from core.tenancy import guild_scope
from earnings.brand_reports import (
    campaign_report,
    create_link,
    effective_cpm,
    resolve_link,
)
from earnings.models import BrandReportLink, PostFinalization
from earnings.selectors import campaign_burn
from guilds.models import DashboardAuditLog
from tests.earnings.test_statements import _campaign_with_money
from tests.factories import make_campaign, make_creator, make_post, make_profile, make_snapshot
from tests.helpers.api import MANAGE_GUILD, grant, login, make_dashboard_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


def _links_url(guild, campaign, rest: str = "") -> str:
    return f"/api/v1/guilds/{guild.pk}/campaigns/{campaign.pk}/brand-links{rest}"


def _create(client, guild, campaign, **body):
    return client.post(_links_url(guild, campaign), body, content_type="application/json")


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _state(bypass):
    with bypass():
        return (
            list(BrandReportLink.objects.order_by("pk").values_list("pk", "revoked_at", "expires_at")),
            DashboardAuditLog.objects.count(),
        )


@pytest.fixture
def manager_client(guild):
    user = make_dashboard_user(username="bob", discord_id="80351110224678913")
    grant(user, {guild: MANAGE_GUILD})
    return login(Client(), user, bearer=True)


def test_the_brand_opens_the_report_with_the_money_pages_numbers(admin_client, guild, bypass):
    campaign, maya, theo = _campaign_with_money(guild)
    r = _create(admin_client, guild, campaign)
    assert r.status_code == 201, r.json()
    created = r.json()
    assert created["state"] == "active" and created["url"].startswith("http")
    assert datetime.fromisoformat(created["expires_at"]) - timezone.now() > timedelta(days=29)

    page = Client().get(_path(created["url"]))  # no login
    assert page.status_code == 200
    body = page.content.decode()
    with guild_scope(guild.pk):
        burn = campaign_burn(guild_id=guild.pk, campaign=campaign, at=timezone.now())
    # the Money page's burn: maya's 8,000 views × 1.50 = 12.00 pending; theo's 4.50 is held
    assert (burn.spent + burn.pending, burn.held) == (Decimal("12.00"), Decimal("4.50"))
    assert re.search(r'data-testid="report-spend">12\.00 GBP<', body)
    assert re.search(r'data-testid="report-views" data-value="8000"', body)  # theo's held post not counted
    assert re.search(r'data-testid="report-cpm">1\.50 GBP<', body)  # 12.00 / 8,000 × 1000
    assert campaign.name in body
    top = body[body.index('data-testid="report-top-posts"') :]
    assert top.count("<tr>") == 2  # header + maya's post; the held post is not shown
    # read-only and discreet: no creator, no payout detail, no dashboard link, never indexed
    for secret in (maya.username, theo.username, maya.discord_user_id, 'href="/dashboard/', "/api/", "<form"):
        assert secret not in body
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert page["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page["Cache-Control"]
    with bypass():
        audit = DashboardAuditLog.objects.get(action="brand_link.create")
        link = BrandReportLink.objects.get()
    assert audit.after["campaign_id"] == campaign.pk and audit.target_id == str(link.pk)
    token = _path(created["url"]).split("/")[2]
    assert link.secret_hash not in token and token.split(".")[1] not in link.secret_hash  # only the hash is stored


def test_report_numbers_follow_the_selector(guild):
    campaign, _, _ = _campaign_with_money(guild)
    with guild_scope(guild.pk):
        report = campaign_report(guild_id=guild.pk, campaign=campaign, at=timezone.now())
    assert (report.views, report.spend, report.effective_cpm) == (8000, Decimal("12.00"), Decimal("1.50"))
    assert [(p.views, p.amount) for p in report.top_posts] == [(8000, Decimal("12.00"))]
    assert effective_cpm(Decimal("10.00"), 3) == Decimal("3333.33")  # half-up to cents
    assert effective_cpm(Decimal("0.01"), 2000) == Decimal("0.01")  # 0.005 → 0.01
    assert effective_cpm(Decimal("5.00"), 0) is None


def test_expired_link_is_a_410_that_says_so_and_changes_nothing(admin_client, guild, bypass):
    campaign, _, _ = _campaign_with_money(guild)
    with guild_scope(guild.pk):
        issued = create_link(
            guild_id=guild.pk, campaign=campaign, expires_in_days=1, actor="t", now=timezone.now() - timedelta(days=2)
        )
    before = _state(bypass)
    page = Client().get(issued.path)
    assert page.status_code == 410
    assert "This report link expired on" in page.content.decode() and campaign.name not in page.content.decode()
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert _state(bypass) == before
    listed = admin_client.get(_links_url(guild, campaign)).json()
    assert [x["state"] for x in listed] == ["expired"]


def test_revoked_link_is_a_410_and_revoking_is_audited(admin_client, guild, bypass):
    campaign, _, _ = _campaign_with_money(guild)
    created = _create(admin_client, guild, campaign, expires_in_days=7).json()
    assert Client().get(_path(created["url"])).status_code == 200
    r = admin_client.post(_links_url(guild, campaign, f"/{created['id']}/revoke"))
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    page = Client().get(_path(created["url"]))
    assert page.status_code == 410
    assert "This report link was revoked." in page.content.decode()
    again = admin_client.post(_links_url(guild, campaign, f"/{created['id']}/revoke"))
    assert again.status_code == 409 and again.json()["error"]["message"] == "This report link was already revoked."
    with bypass():
        revokes = list(DashboardAuditLog.objects.filter(action="brand_link.revoke"))
    assert len(revokes) == 1 and revokes[0].after["state"] == "revoked"
    assert revokes[0].actor.startswith("discord:")


def test_forged_and_mangled_tokens_are_404s_that_read_and_change_nothing(admin_client, guild, bypass):
    campaign, _, _ = _campaign_with_money(guild)
    token = _path(_create(admin_client, guild, campaign).json()["url"]).split("/")[2]
    key_id, secret, signature = token.split(".")
    signer = signing.Signer(salt="earnings.brand-report-link", sep=".")
    forged = [
        f"{key_id}.{secret}.{'A' * len(signature)}",  # bad signature
        f"{key_id}.{secret[:-1]}x.{signature}",  # secret changed, signature no longer matches
        signer.sign(f"{key_id}.{'x' * 43}"),  # a valid signature (leaked SECRET_KEY) but the wrong secret
        signer.sign(f"{'0' * 16}.{secret}"),  # an unknown key id
        "not-a-token",
        "x" * 500,
    ]
    before = _state(bypass)
    for bad in forged:
        page = Client().get(f"/brand-report/{bad}/")
        assert page.status_code == 404, bad
        body = page.content.decode()
        assert "There is no report at this address." in body and campaign.name not in body
    assert _state(bypass) == before


def test_a_link_shows_its_own_guild_and_campaign_only(admin_client, guild, other_guild, bypass):
    campaign, _, _ = _campaign_with_money(guild)
    other_campaign = make_campaign(guild, name="Sister campaign", currency="GBP")
    theirs = make_campaign(other_guild, name="Other guild campaign", currency="USD")
    post = make_post(
        other_guild,
        profile=make_profile(other_guild, creator=make_creator(other_guild, username="outsider")),
        client_account=theirs.client_account,
        campaign=theirs,
        submitted_at=timezone.now() - timedelta(days=2),
        counting_ends_at=timezone.now() + timedelta(days=20),
        caption="Other guild caption words",
    )
    make_snapshot(post, views=0, at=timezone.now() - timedelta(days=2))
    make_snapshot(post, views=99_000, at=timezone.now() - timedelta(days=1))
    url = _path(_create(admin_client, guild, campaign).json()["url"])
    body = Client().get(url).content.decode()
    for foreign in ("Other guild campaign", "Other guild caption", "99,000", other_campaign.name):
        assert foreign not in body
    # guild A's admin cannot reach guild B's campaign's links, nor revoke A's link through B's URL
    assert _create(admin_client, other_guild, theirs).status_code == 404
    with bypass():
        link_id = BrandReportLink.objects.get().pk
    r = admin_client.post(_links_url(guild, other_campaign, f"/{link_id}/revoke"))
    assert r.status_code == 404  # the link is not the sister campaign's
    with bypass():
        assert BrandReportLink.objects.get().revoked_at is None


def test_bad_expiry_and_managers_are_refused_with_a_message(admin_client, manager_client, guild, bypass):
    campaign, _, _ = _campaign_with_money(guild)
    for days in (0, 181, "soon"):
        r = _create(admin_client, guild, campaign, expires_in_days=days)
        assert r.status_code == 400 and "expires_in_days" in r.json()["error"]["fields"], days
    assert _create(manager_client, guild, campaign).status_code == 403
    made = _create(admin_client, guild, campaign).json()
    listed = manager_client.get(_links_url(guild, campaign))
    assert listed.status_code == 200 and [x["id"] for x in listed.json()] == [made["id"]]
    assert "url" not in listed.json()[0]  # the URL is shown once, when made
    assert manager_client.post(_links_url(guild, campaign, f"/{made['id']}/revoke")).status_code == 403
    with bypass():
        assert BrandReportLink.objects.count() == 1
        assert DashboardAuditLog.objects.filter(action__startswith="brand_link").count() == 1


def test_the_public_page_is_rate_limited(admin_client, guild, settings):
    campaign, _, _ = _campaign_with_money(guild)
    url = _path(_create(admin_client, guild, campaign).json()["url"])
    settings.RATE_LIMIT_BRAND_REPORT = "2/m"
    cache.clear()
    client = Client()
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    limited = client.get(url)
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert "Too many requests" in limited.content.decode()


def test_burn_series_ends_at_the_burn_now(admin_client, guild):
    campaign, _, _ = _campaign_with_money(guild)
    base = f"/api/v1/guilds/{guild.pk}/campaigns/{campaign.pk}"
    series = admin_client.get(f"{base}/burn-series").json()
    burn = admin_client.get(f"{base}/burn").json()
    last = series["days"][-1]
    assert (last["spent"], last["pending"], last["held"]) == (burn["spent"], burn["pending"], burn["held"])
    assert last["used"] == "16.50"  # 12.00 pending + 4.50 held
    assert len(series["days"]) == (timezone.localdate() - campaign.starts_at.date()).days + 1
    assert series["days"] == sorted(series["days"], key=lambda d: d["date"])


def test_resolving_needs_no_guild_scope_and_reads_one_row(guild):
    campaign, _, _ = _campaign_with_money(guild)
    with guild_scope(guild.pk):
        issued = create_link(guild_id=guild.pk, campaign=campaign, actor="t")
    link = resolve_link(issued.token, now=datetime.now(UTC))  # outside any scope, as the public view runs
    assert (link.guild_id, link.campaign_id) == (guild.pk, campaign.pk)


def test_frozen_amounts_show_in_cents_on_every_surface(admin_client, guild):
    """Finalized amounts summed by the database come back as cents (no 51.410000000000004)."""
    campaign = make_campaign(guild, rate_per_1000=Decimal("1.00"), currency="USD")
    past = timezone.now() - timedelta(days=40)
    with guild_scope(guild.pk):
        for amount in ("0.10", "0.20", "51.11"):
            post = make_post(
                guild,
                client_account=campaign.client_account,
                campaign=campaign,
                submitted_at=past,
                counting_ends_at=past + timedelta(days=30),
                status="finalized",
            )
            make_snapshot(post, views=0, at=past)
            make_snapshot(post, views=1000, at=past + timedelta(days=1))
            PostFinalization.objects.create(
                guild=guild,
                post=post,
                campaign=campaign,
                views_payable=1000,
                amount=Decimal(amount),
                currency="USD",
                finalized_at=past + timedelta(days=31),
            )
        report = campaign_report(guild_id=guild.pk, campaign=campaign, at=timezone.now())
    assert (str(report.burn.spent), str(report.spend), report.views) == ("51.41", "51.41", 3000)
    assert report.effective_cpm == Decimal("17.14")  # 51.41 / 3,000 × 1000 = 17.1366… → 17.14
    api = admin_client.get(f"/api/v1/guilds/{guild.pk}/campaigns/{campaign.pk}/report").json()
    assert (api["burn"]["spent"], api["spend"], api["effective_cpm"]) == ("51.41", "51.41", "17.14")
