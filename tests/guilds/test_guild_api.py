"""The guild API: permission bits, admin-only changes, audit entries, posts, leaderboard, CSV, query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from guilds.models import BonusRule, DashboardAuditLog, GuildBudgetConfig
from tests.factories import make_bonus_rule, make_client_account, make_post, make_profile, make_snapshot
from tests.helpers.api import (
    ADMINISTRATOR,
    MANAGE_GUILD,
    OWNER,
    READER_KEY,
    WRITER_KEY,
    grant,
    key_client,
    login,
    make_dashboard_user,
)
from tracking.models import Post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


def _client_with(guild, permission):
    user = make_dashboard_user(username=f"u{permission}")
    grant(user, {guild: permission})
    return login(Client(), user, bearer=True)


# --- permission bits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("permission", "can_read", "can_admin"),
    [(OWNER, True, True), (ADMINISTRATOR, True, True), (MANAGE_GUILD, True, False), (0x400, False, False)],
)
def test_permission_bits(guild, permission, can_read, can_admin):
    client = _client_with(guild, permission)
    read = client.get(f"/api/v1/guilds/{guild.pk}/budget")
    assert read.status_code == (200 if can_read else 404)
    change = client.patch(
        f"/api/v1/guilds/{guild.pk}/budget", {"daily_apify_run_limit": 5}, content_type="application/json"
    )
    assert change.status_code == (200 if can_admin else 403 if can_read else 404)
    listed = client.get("/api/v1/guilds").json()
    assert [g["id"] for g in listed] == ([str(guild.pk)] if can_read else [])


@pytest.mark.parametrize(("key", "can_admin"), [(READER_KEY, False), (WRITER_KEY, True)])
def test_a_service_keys_guild_list_says_whether_it_may_change_things(guild, key, can_admin):
    listed = key_client(key).get("/api/v1/guilds").json()
    assert [(g["id"], g["can_admin"]) for g in listed] == [(str(guild.pk), can_admin)]


def test_service_key_scopes_on_the_guild_api(guild):
    assert key_client(READER_KEY).get(f"/api/v1/guilds/{guild.pk}/posts").status_code == 200
    r = key_client(READER_KEY).patch(
        f"/api/v1/guilds/{guild.pk}/budget", {"daily_apify_run_limit": 5}, content_type="application/json"
    )
    assert r.status_code == 403 and "guilds.write" in r.json()["error"]["message"]
    ok = key_client(WRITER_KEY).patch(
        f"/api/v1/guilds/{guild.pk}/budget", {"daily_apify_run_limit": 5}, content_type="application/json"
    )
    assert ok.status_code == 200


# --- changes are audited ---------------------------------------------------------------------


def test_budget_change_is_audited_with_before_and_after(admin_client, guild, bypass):
    r = admin_client.patch(
        f"/api/v1/guilds/{guild.pk}/budget",
        {"daily_apify_run_limit": 7},
        content_type="application/json",
        HTTP_USER_AGENT="pytest-agent",
    )
    assert r.status_code == 200 and r.json()["daily_apify_run_limit"] == 7
    with bypass():
        entry = DashboardAuditLog.objects.get(guild=guild)
        assert GuildBudgetConfig.objects.get(guild=guild).daily_apify_run_limit == 7
    assert entry.action == "budget.update"
    assert entry.before["daily_apify_run_limit"] == 100 and entry.after["daily_apify_run_limit"] == 7
    assert entry.actor.startswith("discord:80351110224678912")
    assert entry.ip == "127.0.0.1" and entry.user_agent == "pytest-agent"
    log = admin_client.get(f"/api/v1/guilds/{guild.pk}/audit-log").json()
    assert log["results"][0]["action"] == "budget.update"


def test_budget_rules_are_the_dashboards(admin_client, guild, bypass):
    """Intervals must grow from young to dormant posts, through the API as on the budget page."""
    r = admin_client.patch(
        f"/api/v1/guilds/{guild.pk}/budget", {"growing_interval_minutes": 30}, content_type="application/json"
    )
    assert r.status_code == 400
    assert (
        "Must not be shorter than young interval minutes" in r.json()["error"]["fields"]["growing_interval_minutes"][0]
    )
    with bypass():
        assert GuildBudgetConfig.objects.get(guild=guild).growing_interval_minutes == 180
        assert not DashboardAuditLog.objects.filter(guild=guild).exists()


def test_invalid_budget_is_400_and_changes_nothing(admin_client, guild, bypass):
    r = admin_client.patch(
        f"/api/v1/guilds/{guild.pk}/budget", {"apify_max_items_per_run": 0}, content_type="application/json"
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid" and "apify_max_items_per_run" in r.json()["error"]["fields"]
    with bypass():
        assert not DashboardAuditLog.objects.exists()


def test_guild_settings_change(admin_client, guild):
    url = f"/api/v1/guilds/{guild.pk}/"
    r = admin_client.patch(
        url, {"timezone": "Europe/Paris", "logs_channel_id": "1234567890123456789"}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["timezone"] == "Europe/Paris"
    bad = admin_client.patch(url, {"timezone": "Nowhere/Else"}, content_type="application/json")
    assert bad.status_code == 400 and "timezone" in bad.json()["error"]["fields"]


def test_bonus_rules_crud_is_audited(admin_client, guild, bypass):
    url = f"/api/v1/guilds/{guild.pk}/bonus-rules"
    r = admin_client.post(
        url,
        {"name": "10k", "kind": "threshold", "min_views_gained": 10000, "amount": "25.00"},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    rule_id = r.json()["id"]
    assert (
        admin_client.post(
            url,
            {"name": "10k", "kind": "threshold", "min_views_gained": 1, "amount": "1"},
            content_type="application/json",
        ).status_code
        == 400
    )
    assert admin_client.post(
        url, {"name": "top", "kind": "top_n", "amount": "1"}, content_type="application/json"
    ).json()["error"]["fields"] == {"place": ["A top-N rule needs place (1 = first)."]}
    assert (
        admin_client.patch(f"{url}/{rule_id}", {"amount": "30.00"}, content_type="application/json").status_code == 200
    )
    assert admin_client.delete(f"{url}/{rule_id}").status_code == 204
    with bypass():
        actions = list(DashboardAuditLog.objects.filter(guild=guild).order_by("pk").values_list("action", flat=True))
        assert not BonusRule.objects.filter(guild=guild).exists()
    assert actions == ["bonus_rule.create", "bonus_rule.update", "bonus_rule.delete"]


def test_client_account_create_and_update(admin_client, guild):
    url = f"/api/v1/guilds/{guild.pk}/client-accounts"
    r = admin_client.post(
        url,
        {"name": "Brand", "social_accounts": {"tiktok": "brand"}, "required_tags": ["#ad"]},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    bad = admin_client.post(url, {"name": "B2", "social_accounts": {"myspace": "x"}}, content_type="application/json")
    assert bad.status_code == 400
    r2 = admin_client.patch(f"{url}/{r.json()['id']}", {"active": False}, content_type="application/json")
    assert r2.status_code == 200 and r2.json()["active"] is False


# --- posts -----------------------------------------------------------------------------------


def test_post_filters_and_url_search(admin_client, guild):
    tiktok = make_post(guild)
    flagged = make_post(guild, status=Post.Status.FLAGGED)
    url = f"/api/v1/guilds/{guild.pk}/posts"
    assert [p["id"] for p in admin_client.get(url, {"status": "flagged"}).json()["results"]] == [flagged.pk]
    assert [p["id"] for p in admin_client.get(url, {"creator": tiktok.creator_id}).json()["results"]] == [tiktok.pk]
    found = admin_client.get(url, {"url": f"tiktok.com/@x/video/{tiktok.external_id}?is_from_webapp=1"}).json()
    assert [p["id"] for p in found["results"]] == [tiktok.pk]
    bad = admin_client.get(url, {"url": "javascript:alert(1)"})
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["url"]
    assert admin_client.get(url, {"status": "nonsense"}).status_code == 400


def test_review_actions(guild, bypass):
    post = make_post(guild)
    client = _client_with(guild, MANAGE_GUILD)  # reviewing posts does not need ADMINISTRATOR
    base = f"/api/v1/guilds/{guild.pk}/posts/{post.pk}"
    assert (
        client.post(f"{base}/flag", {"reason": "odd spike"}, content_type="application/json").json()["status"]
        == "flagged"
    )
    assert client.post(f"{base}/reject", {}, content_type="application/json").status_code == 400
    r = client.post(f"{base}/reject", {"reason": "not the brand"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    refused = client.post(f"{base}/finalize", {"reason": "done"}, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "transition_refused"
    with bypass():
        entries = list(DashboardAuditLog.objects.filter(guild=guild, target_type="post").order_by("pk"))
    assert [e.action for e in entries] == ["post.flag", "post.reject"]
    assert entries[1].before["status"] == "flagged" and entries[1].after["status"] == "rejected"


# --- numbers ---------------------------------------------------------------------------------


@pytest.fixture
def scored_posts(guild):
    now = timezone.now()
    posts = []
    for i, views in enumerate((500, 2000, 1200)):
        post = make_post(
            guild,
            posted_at=now - timedelta(days=20),
            submitted_at=now - timedelta(days=20),
            metrics_updated_at=now - timedelta(minutes=1),
        )
        make_snapshot(post, views=100 + i, at=now - timedelta(days=15))
        make_snapshot(post, views=views, at=now - timedelta(minutes=2))
        posts.append(post)
    return posts


def test_leaderboard_and_csv_agree(admin_client, guild, scored_posts):
    base = f"/api/v1/guilds/{guild.pk}"
    board = admin_client.get(f"{base}/leaderboard", {"period": "all"}).json()
    assert [c["views_gained"] for c in board["creators"]] == [2000, 1200, 500]
    creators_csv = list(
        csv.DictReader(
            io.StringIO(
                b"".join(
                    admin_client.get(f"{base}/exports/leaderboard.csv", {"period": "all"}).streaming_content
                ).decode()
            )
        )
    )
    assert [(int(r["creator_id"]), int(r["views_gained"]), int(r["rank"])) for r in creators_csv] == [
        (c["creator_id"], c["views_gained"], c["rank"]) for c in board["creators"]
    ]
    response = admin_client.get(f"{base}/exports/posts.csv", {"period": "all"})
    assert response["Content-Type"].startswith("text/csv")
    posts_csv = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(int(r["post_id"]), int(r["views_gained"])) for r in posts_csv] == [
        (p["post_id"], p["views_gained"]) for p in board["posts"]
    ]


def test_leaderboard_explicit_dates_and_bad_period(admin_client, guild, scored_posts):
    url = f"/api/v1/guilds/{guild.pk}/leaderboard"
    today = timezone.now().date()
    r = admin_client.get(url, {"start": str(today - timedelta(days=1)), "end": str(today)})
    assert r.status_code == 200 and r.json()["period"] == "custom"
    assert admin_client.get(url, {"period": "decade"}).status_code == 400
    assert admin_client.get(url, {"start": str(today)}).json()["error"]["fields"] == {
        "end": ["Give both start and end."]
    }


def test_csv_cells_cannot_run_formulas(admin_client, guild):
    now = timezone.now()
    profile = make_profile(guild)
    with_formula = make_post(guild, profile=profile, posted_at=now - timedelta(days=1), metrics_updated_at=now)
    make_snapshot(with_formula, views=10, at=now - timedelta(minutes=1))
    from core.tenancy import rls_bypass

    with rls_bypass(reason="test"):
        profile.creator.username = '=HYPERLINK("http://evil")'
        profile.creator.save()
    body = b"".join(
        admin_client.get(f"/api/v1/guilds/{guild.pk}/exports/leaderboard.csv", {"period": "all"}).streaming_content
    ).decode()
    assert "'=HYPERLINK" in body


def test_post_series(admin_client, guild):
    post = make_post(guild)
    now = timezone.now()
    for i in range(3):
        make_snapshot(post, views=10 * (i + 1), at=now - timedelta(hours=3 - i))
    r = admin_client.get(f"/api/v1/guilds/{guild.pk}/posts/{post.pk}/series").json()
    assert [s["views"] for s in r["results"]] == [10, 20, 30]


# --- constant query counts -------------------------------------------------------------------

LIST_ENDPOINTS = ["posts", "creators", "profiles", "client-accounts", "bonus-rules", "audit-log", "usage"]


def _rows(guild, n):
    from core.tenancy import rls_bypass
    from guilds.models import GuildApiUsage

    client_account = make_client_account(guild)
    for _ in range(n):
        make_post(guild, client_account=client_account)
        make_client_account(guild)
        make_bonus_rule(guild)
    with rls_bypass(reason="test rows"):
        today = timezone.now().date()
        GuildApiUsage.objects.bulk_create(
            [GuildApiUsage(guild=guild, day=today - timedelta(days=i)) for i in range(min(n, 30))]
        )
        from guilds.audit import record_audit

        for i in range(n):
            record_audit(guild_id=guild.pk, actor="test", action="x", target_type="y", target_id=i)


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
@pytest.mark.parametrize("rows", [5, 50])
def test_list_endpoints_cost_constant_queries(admin_client, guild, endpoint, rows, django_assert_max_num_queries):
    _rows(guild, rows)
    with django_assert_max_num_queries(8):
        r = admin_client.get(f"/api/v1/guilds/{guild.pk}/{endpoint}", {"page_size": 200})
    assert r.status_code == 200
    assert len(r.json()["results"]) >= min(rows, 5)


@pytest.mark.parametrize("rows", [5, 50])
def test_leaderboard_costs_constant_queries(admin_client, guild, rows, django_assert_max_num_queries):
    now = timezone.now()
    for _ in range(rows):
        post = make_post(guild, metrics_updated_at=now)
        make_snapshot(post, views=10, at=now - timedelta(minutes=1))
    with django_assert_max_num_queries(8):
        r = admin_client.get(f"/api/v1/guilds/{guild.pk}/leaderboard", {"period": "all"})
    assert len(r.json()["posts"]) == rows
