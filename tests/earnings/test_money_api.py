"""The money API as a guild admin uses it: campaigns, statements through the payout queue, reopen."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from core.tenancy import guild_scope
from earnings.models import LedgerEntry, PostFinalization, Statement
from earnings.payout_methods import set_payout_method
from guilds.models import DashboardAuditLog
from tests.earnings.test_statements import _campaign_with_money
from tests.factories import make_campaign, make_client_account, make_post
from tests.helpers.api import MANAGE_GUILD, grant, login, make_dashboard_user
from tracking.models import Campaign, Post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def _url(guild, rest: str = "") -> str:
    return f"/api/v1/guilds/{guild.pk}/{rest}"


def _post(client, url: str, body: dict | None = None):
    return client.post(url, body or {}, content_type="application/json")


def _patch(client, url: str, body: dict):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def manager_client(guild):
    """MANAGE_GUILD only: may read, may not change money."""
    user = make_dashboard_user(username="bob", discord_id="80351110224678913")
    grant(user, {guild: MANAGE_GUILD})
    return login(Client(), user, bearer=True)


def test_admin_creates_and_changes_a_campaign_audited(admin_client, guild, bypass):
    account = make_client_account(guild, name="Acme")
    body = {
        "client_account_id": account.pk,
        "name": "Winter push",
        "status": "active",
        "currency": "EUR",
        "total_budget": "500.00",
        "rate_per_1000": "1.50",
        "platform_rates": {"youtube": "2.25"},
        "post_cap": "50.00",
        "min_views": 1000,
        "validation_window_days": 3,
        "eligible_platforms": ["tiktok", "youtube"],
        "baseline": "all",
        "on_disappear": "forfeit",
    }
    r = admin_client.post(_url(guild, "campaigns"), body, content_type="application/json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert (data["currency"], data["total_budget"], data["platform_rates"]) == ("EUR", "500.00", {"youtube": "2.25"})
    r = admin_client.patch(
        _url(guild, f"campaigns/{data['id']}"), {"status": "paused"}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["status"] == "paused"
    with bypass():
        campaign = Campaign.objects.get(pk=data["id"])
        audits = dict(DashboardAuditLog.objects.filter(target_type="campaign").values_list("action", "after"))
    assert (campaign.rate_per_1000, campaign.rate_for("youtube")) == (Decimal("1.50"), Decimal("2.25"))
    assert audits["campaign.update"] == {"status": "paused"}
    assert (audits["campaign.create"]["rate_per_1000"], audits["campaign.create"]["currency"]) == ("1.50", "EUR")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"currency": "usd"}, "currency", "not an ISO 4217 currency"),
        ({"rate_per_1000": "-1"}, "rate_per_1000", "greater than or equal to 0"),
        ({"rate_per_1000": "1.505"}, "rate_per_1000", "no more than 2 decimal places"),
        ({"platform_rates": {"myspace": "1.00"}}, "platform_rates", "'myspace' is not a platform we track"),
        ({"ends_at": "2026-01-01T00:00:00Z", "starts_at": "2026-02-01T00:00:00Z"}, "ends_at", "after the start"),
        ({"client_account_id": 999}, "client_account_id", "No such client account in this server."),
        ({"required_tags": ["two words"]}, "required_tags", "'#two words' is not a tag: use #tag or @mention"),
    ],
)
def test_bad_campaign_is_a_400_naming_the_field(admin_client, guild, bypass, change, field, message):
    account = make_client_account(guild)
    body = {"client_account_id": account.pk, "name": "X", **change}
    r = admin_client.post(_url(guild, "campaigns"), body, content_type="application/json")
    assert r.status_code == 400
    assert message in " ".join(r.json()["error"]["fields"][field])
    with bypass():
        assert not Campaign.objects.exists()


def test_campaign_caption_rules_are_normalised_like_a_client_accounts(admin_client, guild, bypass):
    """A bare word is a hashtag, tags are lower-cased and kept once, banned words once per spelling:
    what the caption check reads, whichever of the two briefs carries them."""
    account = make_client_account(guild)
    body = {
        "client_account_id": account.pk,
        "name": "Tags",
        "required_tags": ["Acme", "#ACME", "@AcmeHQ", " ＃Ad "],
        "banned_words": ["Free Money", "free money", "giveaway"],
    }
    r = admin_client.post(_url(guild, "campaigns"), body, content_type="application/json")
    assert r.status_code == 201, r.json()
    assert (r.json()["required_tags"], r.json()["banned_words"]) == (
        ["#acme", "@acmehq", "#ad"],
        ["Free Money", "giveaway"],
    )
    with bypass():
        campaign = Campaign.objects.get(pk=r.json()["id"])
    assert campaign.required_tags == ["#acme", "@acmehq", "#ad"]


def test_duplicate_campaign_name_is_refused(admin_client, guild):
    campaign = make_campaign(guild, name="Same")
    body = {"client_account_id": campaign.client_account_id, "name": "Same"}
    r = admin_client.post(_url(guild, "campaigns"), body, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"]["fields"]["name"] == ["Another campaign in this server already has this name."]


def test_manager_reads_but_cannot_change_money(manager_client, guild):
    campaign = make_campaign(guild)
    assert manager_client.get(_url(guild, "campaigns")).status_code == 200
    assert (
        manager_client.patch(
            _url(guild, f"campaigns/{campaign.pk}"), {"status": "paused"}, content_type="application/json"
        ).status_code
        == 403
    )
    body = {"campaign_id": campaign.pk, "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"}
    assert _post(manager_client, _url(guild, "statements"), body).status_code == 403


def test_payout_queue_through_the_api(admin_client, guild, bypass):
    campaign, maya, _ = _campaign_with_money(guild)
    body = {"campaign_id": campaign.pk, "start": "2026-11-02T00:00:00Z", "end": "2026-11-09T00:00:00Z"}
    r = admin_client.post(_url(guild, "statements"), body, content_type="application/json")
    assert r.status_code == 201
    mine = next(s for s in r.json() if s["creator"] == maya.pk)
    assert (mine["amount"], mine["currency"], mine["status"]) == ("12.00", "GBP", "pending")

    statement = _url(guild, f"statements/{mine['id']}")
    pay = _post(admin_client, f"{statement}/pay", {"reference": "PP-1"})
    assert pay.status_code == 409
    assert pay.json()["error"]["code"] == "wrong_state"
    assert pay.json()["error"]["message"] == "This statement is pending; it cannot be paid now."
    assert _post(admin_client, f"{statement}/approve").json()["status"] == "approved"
    assert _post(admin_client, f"{statement}/pay").json()["error"]["fields"] == {
        "reference": ["This field is required."]
    }
    paid = _post(admin_client, f"{statement}/pay", {"reference": "PP-1"})
    assert paid.status_code == 200
    assert (paid.json()["status"], paid.json()["payment_reference"]) == ("paid", "PP-1")
    assert paid.json()["paid_by"] == paid.json()["approved_by"] != ""
    queue = admin_client.get(_url(guild, "statements"), {"status": "pending"}).json()
    assert [s["creator_username"] for s in queue["results"]] == ["theo"]
    void = admin_client.post(
        _url(guild, f"statements/{queue['results'][0]['id']}/void"),
        {"reason": "held post rejected"},
        content_type="application/json",
    )
    assert void.status_code == 200 and void.json()["void_reason"] == "held post rejected"
    with bypass():
        assert LedgerEntry.objects.filter(kind="payment").get().amount == Decimal("-12.00")


def test_reopen_through_the_api(admin_client, guild, bypass):
    campaign = make_campaign(guild)
    post = make_post(guild, client_account=campaign.client_account, campaign=campaign, status=Post.Status.FINALIZED)
    with bypass():
        PostFinalization.objects.create(
            guild=guild, post=post, campaign=campaign, views_payable=1, amount=0, currency="USD", finalized_at=T0
        )
    url = _url(guild, f"posts/{post.pk}/reopen")
    assert admin_client.post(url, {}, content_type="application/json").status_code == 400
    r = admin_client.post(url, {"reason": "creator disputes the count"}, content_type="application/json")
    assert r.status_code == 200
    assert r.json() == {
        "post_id": post.pk,
        "status": "flagged",
        "status_reason": "reopened: creator disputes the count",
    }
    again = admin_client.post(url, {"reason": "twice"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["message"] == "Only a finalized post can be reopened."
    assert (
        admin_client.post(
            _url(guild, f"posts/{post.pk + 1000}/reopen"), {"reason": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    with bypass():
        assert DashboardAuditLog.objects.filter(action="post.reopen", target_id=str(post.pk)).count() == 1


def test_payout_export_lists_approved_statements_with_the_address(
    admin_client, manager_client, guild, settings, bypass
):
    settings.PAYOUT_ENCRYPTION_KEY = Fernet.generate_key().decode()
    campaign, maya, _ = _campaign_with_money(guild)
    with guild_scope(guild.pk):
        set_payout_method(guild_id=guild.pk, creator=maya, kind="paypal", address="maya.clips@example.com")
    body = {"campaign_id": campaign.pk, "start": "2026-11-02T00:00:00Z", "end": "2026-11-09T00:00:00Z"}
    made = _post(admin_client, _url(guild, "statements"), body).json()
    mine = next(s for s in made if s["creator"] == maya.pk)
    _post(admin_client, _url(guild, f"statements/{mine['id']}/approve"))

    assert manager_client.get(_url(guild, "exports/payouts.csv")).status_code == 403
    r = admin_client.get(_url(guild, "exports/payouts.csv"))
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert [(row["username"], row["amount"], row["currency"], row["method"], row["address"]) for row in rows] == [
        ("maya", "12.00", "GBP", "paypal", "maya.clips@example.com")
    ]  # theo's statement is pending, not approved
    with bypass():
        assert DashboardAuditLog.objects.filter(action="payouts.export").count() == 1


def test_an_overlapping_statement_period_is_a_409_with_the_reason(admin_client, guild, bypass):
    campaign, maya, _ = _campaign_with_money(guild)
    week = {"campaign_id": campaign.pk, "start": "2026-11-02T00:00:00Z", "end": "2026-11-09T00:00:00Z"}
    made = _post(admin_client, _url(guild, "statements"), week)
    assert made.status_code == 201
    mine = next(s for s in made.json() if s["creator"] == maya.pk)
    r = _post(
        admin_client,
        _url(guild, "statements"),
        {**week, "start": "2026-11-01T00:00:00Z", "end": "2026-11-05T00:00:00Z"},
    )
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "period_overlaps"
    assert error["message"].startswith(f"maya already has statement {mine['id']} (pending) for 2026-11-02 00:00")
    assert error["fields"] == {"start": [error["message"]]}
    with bypass():
        assert Statement.objects.count() == 2
    again = _post(admin_client, _url(guild, "statements"), week)  # the same period again: harmless
    assert (again.status_code, again.json()) == (201, [])
