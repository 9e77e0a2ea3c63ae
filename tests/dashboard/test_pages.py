"""The dashboard pages through the Django test client: who may see what, and that the numbers are
the leaderboard's."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.tenancy import guild_scope
from core.values import a_or_an
from guilds.models import DashboardAuditLog, GuildBudgetConfig
from metrics.periods import period_bounds
from metrics.selectors import leaderboard
from tests.dashboard.conftest import log_in, use_cookies
from tests.factories import (
    factory,
    make_bonus_rule,
    make_client_account,
    make_creator,
    make_post,
    make_profile,
    make_snapshot,
)
from tracking.models import FraudSignal, Post, PostStatusChange

pytestmark = pytest.mark.django_db

PAGES = [
    "overview",
    "posts",
    "creators",
    "leaderboard",
    "clients",
    "bonus-rules",
    "budget",
    "settings",
    "audit",
    "money",
]


def url(guild, name="overview", *extra) -> str:
    from django.urls import reverse

    return reverse(f"dashboard:{name}", args=[guild.pk, *extra])


@factory
def _flag(post, reason="Views spiked 40x in an hour with no new likes"):
    FraudSignal.objects.create(
        guild_id=post.guild_id, post=post, kind=FraudSignal.Kind.SPIKE_WITHOUT_ENGAGEMENT, reason=reason
    )


def seed(guild, *, creators=2, posts_each=2):
    """Creators with posts measured over the last days, so every period has gains."""
    now = timezone.now()
    client_account = make_client_account(guild)
    posts = []
    for _ in range(creators):
        creator = make_creator(guild)
        profile = make_profile(guild, creator)
        for i in range(posts_each):
            post = make_post(
                guild,
                profile,
                client_account=client_account,
                posted_at=now - timedelta(days=20),
                submitted_at=now - timedelta(days=20),
            )
            for days_ago, views in ((15, 100), (9, 400), (2, 1000), (1, 1500), (0, 1800 + 100 * i)):
                make_snapshot(post, views=views, at=now - timedelta(days=days_ago, minutes=5))
            posts.append(post)
    with guild_scope(guild.pk):
        Post.objects.for_guild(guild).update(metrics_updated_at=now - timedelta(minutes=5), views=1800)
    return posts


# --- who may see what -------------------------------------------------------------------------


def test_landing_offers_login_with_discord(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Login with Discord" in response.content
    assert b'href="/api/v1/auth/discord/login"' in response.content or b"discord/login" in response.content


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitor_is_sent_to_the_landing_page(client, guild, page):
    response = client.get(url(guild, page))
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_anonymous_picker_redirects_to_landing(client):
    response = client.get("/dashboard/")
    assert (response.status_code, response["Location"]) == (302, "/")


def test_revoked_session_is_logged_out(admin_client, guild):
    from dashboard_auth.sessions import revoke_session

    who = admin_client.logged_in
    from dashboard_auth.tokens import decode_access_token

    revoke_session(user_id=who.user.pk, session_id=decode_access_token(who.access_token).session_id, reason="test")
    response = admin_client.get(url(guild))
    assert (response.status_code, response["Location"]) == (302, "/")


def test_picker_lists_my_guilds_with_my_role(client, guild, other_guild):
    who = log_in(guilds=[(guild, "owner"), (other_guild, "manager")])
    use_cookies(client, who)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert guild.name in body and other_guild.name in body
    assert url(guild) in body and url(other_guild) in body
    assert "Owner" in body and "Manage Server (read and review)" in body


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_an_admin(admin_client, guild, page):
    seed(guild)
    response = admin_client.get(url(guild, page))
    assert response.status_code == 200, response.content[:500]
    assert guild.name in response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("page", PAGES)
def test_another_guild_is_a_404(admin_client, guild, other_guild, page):
    seed(other_guild, creators=1, posts_each=1)
    response = admin_client.get(url(other_guild, page))
    assert response.status_code == 404
    assert other_guild.name.encode() not in response.content


def test_unknown_guild_is_a_404(admin_client):
    assert admin_client.get("/dashboard/1234567890123456789/").status_code == 404


def test_another_guilds_post_is_a_404_under_my_guild(admin_client, guild, other_guild):
    theirs = make_post(other_guild)
    assert admin_client.get(url(guild, "post-detail", theirs.pk)).status_code == 404
    response = admin_client.post(url(guild, "post-review", theirs.pk), {"action": "reject", "reason": "x"})
    assert response.status_code == 404
    with guild_scope(other_guild.pk):
        assert Post.objects.get(pk=theirs.pk).status == Post.Status.TRACKING


def test_logout_ends_the_session(admin_client, guild):
    response = admin_client.post("/dashboard/logout/")
    assert (response.status_code, response["Location"]) == (302, "/")
    use_cookies(admin_client, admin_client.logged_in)  # the old cookies no longer work
    assert admin_client.get(url(guild))["Location"] == "/"


# --- budget -----------------------------------------------------------------------------------

BUDGET = {
    "daily_apify_run_limit": 150,
    "daily_youtube_quota_units": 1000,
    "weekly_openai_call_limit": 270,
    "apify_max_items_per_run": 100,
    "young_post_hours": 48,
    "young_interval_minutes": 60,
    "growing_interval_minutes": 180,
    "flat_interval_hours": 24,
    "dormant_interval_hours": 168,
    "max_backoff_hours": 24,
}


def _budget(guild) -> GuildBudgetConfig:
    with guild_scope(guild.pk):
        return GuildBudgetConfig.objects.get(guild=guild)


def test_admin_changes_the_budget_and_it_is_audited(admin_client, guild):
    response = admin_client.post(url(guild, "budget"), BUDGET)
    assert (response.status_code, response["Location"]) == (302, url(guild, "budget"))
    assert _budget(guild).daily_apify_run_limit == 150
    with guild_scope(guild.pk):
        entry = DashboardAuditLog.objects.get(guild=guild, action="budget.update")
    assert entry.before == {"daily_apify_run_limit": 100}
    assert entry.after == {"daily_apify_run_limit": 150}
    assert entry.actor.startswith(f"discord:{admin_client.logged_in.discord_id}")
    assert entry.actor_user_id == admin_client.logged_in.user.pk
    page = admin_client.get(url(guild, "budget"))
    assert "Budget saved." in page.content.decode()


def test_unchanged_budget_writes_no_audit_entry(admin_client, guild):
    assert admin_client.post(url(guild, "budget"), {**BUDGET, "daily_apify_run_limit": 100}).status_code == 302
    with guild_scope(guild.pk):
        assert not DashboardAuditLog.objects.filter(guild=guild).exists()


def test_manager_cannot_change_the_budget(manager_client, guild):
    response = manager_client.post(url(guild, "budget"), BUDGET)
    assert response.status_code == 403
    assert "Only the server owner or an administrator can change this." in response.content.decode()
    assert _budget(guild).daily_apify_run_limit == 100
    with guild_scope(guild.pk):
        assert not DashboardAuditLog.objects.filter(guild=guild).exists()


def test_manager_sees_the_budget_read_only(manager_client, guild):
    response = manager_client.get(url(guild, "budget"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "read only" in body and "Save budget" not in body
    assert 'name="daily_apify_run_limit"' in body and "disabled" in body


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"daily_apify_run_limit": -1}, "daily_apify_run_limit", "“Apify runs per day” must be at least 0."),
        (
            {"daily_apify_run_limit": 10_000_000},
            "daily_apify_run_limit",
            "“Apify runs per day” can be at most 10,000; a larger number is likely a typo.",
        ),
        ({"apify_max_items_per_run": 0}, "apify_max_items_per_run", "“Posts per Apify run (max)” must be at least 1."),
        (
            {"daily_apify_run_limit": "lots"},
            "daily_apify_run_limit",
            "“Apify runs per day” takes a whole number from 0 to 10,000, like 0.",
        ),
        ({"growing_interval_minutes": 30}, "growing_interval_minutes", "Must not be shorter than"),
    ],
)
def test_bad_budget_is_refused_and_nothing_changes(admin_client, guild, changes, field, message):
    response = admin_client.post(url(guild, "budget"), {**BUDGET, **changes})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was saved" in body and message in body
    assert "Ensure this value" not in body and "Enter a whole number." not in body  # not Django's wording
    budget = _budget(guild)
    assert (budget.daily_apify_run_limit, budget.growing_interval_minutes) == (100, 180)


def test_budget_post_needs_csrf(guild):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    use_cookies(strict, log_in(guilds=[(guild, "admin")]))
    assert strict.post(url(guild, "budget"), BUDGET).status_code == 403
    assert _budget(guild).daily_apify_run_limit == 100


# --- review -----------------------------------------------------------------------------------


def test_approving_a_flagged_post_resolves_its_flags(admin_client, guild):
    post = make_post(guild, status=Post.Status.FLAGGED)
    _flag(post)
    page = admin_client.get(url(guild, "post-detail", post.pk))
    assert "Views spiked 40x in an hour with no new likes" in page.content.decode()
    response = admin_client.post(url(guild, "post-review", post.pk), {"action": "approve", "reason": "checked"})
    assert (response.status_code, response["Location"]) == (302, url(guild, "post-detail", post.pk))
    with guild_scope(guild.pk):
        post.refresh_from_db()
        assert post.status == Post.Status.TRACKING
        assert FraudSignal.objects.get(post=post).resolved_at is not None
        change = PostStatusChange.objects.get(post=post)
        assert (change.from_status, change.to_status, change.reason) == ("flagged", "tracking", "checked")
        assert DashboardAuditLog.objects.filter(guild=guild, action="post.approve", target_id=str(post.pk)).exists()
    page = admin_client.get(url(guild, "post-detail", post.pk)).content.decode()
    assert "Post approved." in page and "checked" in page


def test_reject_needs_a_reason(manager_client, guild):
    post = make_post(guild)
    response = manager_client.post(url(guild, "post-review", post.pk), {"action": "reject", "reason": ""})
    assert response.status_code == 400
    assert "Say why the post is rejected" in response.content.decode()
    with guild_scope(guild.pk):
        assert Post.objects.get(pk=post.pk).status == Post.Status.TRACKING


def test_approving_a_tracking_post_is_refused_with_a_message(admin_client, guild):
    post = make_post(guild, status=Post.Status.FINALIZED)
    response = admin_client.post(url(guild, "post-review", post.pk), {"action": "approve"})
    assert response.status_code == 400
    assert "Only a flagged or rejected post can be approved" in response.content.decode()


def test_unknown_review_action_is_a_400(admin_client, guild):
    post = make_post(guild)
    response = admin_client.post(url(guild, "post-review", post.pk), {"action": "delete"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


# --- posts table -----------------------------------------------------------------------------


def test_posts_search_by_link_finds_the_post(admin_client, guild):
    posts = seed(guild)
    target = posts[1]
    link = f"https://www.tiktok.com/@someone/video/{target.external_id}?is_from_webapp=1"
    response = admin_client.get(url(guild, "posts"), {"q": link})
    assert list(response.context["page"].object_list) == [target]


def test_posts_filters_by_creator_and_status(admin_client, guild):
    posts = seed(guild)
    with guild_scope(guild.pk):
        Post.objects.filter(pk=posts[0].pk).update(status=Post.Status.FLAGGED)
    response = admin_client.get(url(guild, "posts"), {"status": "flagged", "creator": posts[0].creator_id})
    assert [p.pk for p in response.context["page"].object_list] == [posts[0].pk]
    response = admin_client.get(url(guild, "posts"), {"creator": posts[2].creator_id})
    assert {p.pk for p in response.context["page"].object_list} == {posts[2].pk, posts[3].pk}


def test_posts_unknown_filter_values_are_ignored(admin_client, guild):
    seed(guild)
    response = admin_client.get(url(guild, "posts"), {"status": "nope", "creator": "abc", "page": "99"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 4


def test_posts_text_search_matches_creator_name(admin_client, guild):
    posts = seed(guild)
    name = posts[0].creator.username
    response = admin_client.get(url(guild, "posts"), {"q": name})
    assert {p.creator_id for p in response.context["page"].object_list} == {posts[0].creator_id}


def test_posts_are_paginated(admin_client, guild):
    seed(guild, creators=3, posts_each=10)
    first = admin_client.get(url(guild, "posts"))
    assert len(first.context["page"].object_list) == 25
    second = admin_client.get(url(guild, "posts"), {"page": 2})
    assert len(second.context["page"].object_list) == 5


# --- the numbers ------------------------------------------------------------------------------


def _board(guild, period):
    start, end = period_bounds(period=period, now=timezone.now(), tz=guild.tz)
    with guild_scope(guild.pk):
        return leaderboard(guild=guild, start=start, end=end)


def test_overview_caches_finished_days_only(admin_client, guild, settings):
    settings.DASHBOARD_CHART_CACHE_SECONDS = 300
    seed(guild)
    first_queries = _queries(admin_client, url(guild))
    first = admin_client.get(url(guild)).context["chart"]
    again = _queries(admin_client, url(guild))
    # the 29 finished days come from the cache: none of the queries that computed them (10 per query)
    assert again == first_queries - 3
    make_snapshot(_any_post(guild), views=10_000_000)
    fresh = admin_client.get(url(guild)).context
    assert fresh["chart"]["views"][:-1] == first["views"][:-1]
    assert fresh["chart"]["views"][-1] == fresh["today"].gained  # today is never cached


def _any_post(guild):
    with guild_scope(guild.pk):
        return Post.objects.for_guild(guild).order_by("pk").first()


@pytest.mark.usefixtures("no_chart_cache")
def test_overview_numbers_are_the_leaderboards(admin_client, guild):
    seed(guild)
    response = admin_client.get(url(guild))
    ctx = response.context
    today, week = _board(guild, "day"), _board(guild, "week")
    assert ctx["today"].gained == today.total_views_gained
    assert ctx["week"].gained == week.total_views_gained
    assert [c.creator_id for c in ctx["top_creators"]] == [c.creator_id for c in week.creators[:5]]
    assert [c.views_gained for c in ctx["top_creators"]] == [c.views_gained for c in week.creators[:5]]
    assert ctx["chart"]["views"][-1] == today.total_views_gained
    body = response.content.decode()
    assert f'data-value="{week.total_views_gained}"' in body
    assert len(ctx["chart"]["days"]) == 30
    assert ctx["freshness"].tracked == 4 and ctx["freshness"].fresh == 4


def test_overview_compares_with_yesterday_and_last_week_until_the_five_minutes_it_names(admin_client, guild, settings):
    settings.DASHBOARD_CHART_CACHE_SECONDS = 300
    now = datetime(2026, 11, 25, 14, 37, 20, tzinfo=UTC)  # a Wednesday; the step before: 14:35
    with time_machine.travel(now, tick=False):
        seed(guild)
        post = _any_post(guild)
        # yesterday after 14:35: not in "yesterday until 14:35"
        make_snapshot(post, views=900_000, at=now - timedelta(days=1, minutes=1))
        ctx = admin_client.get(url(guild)).context
        with guild_scope(guild.pk):
            day_start = now.replace(hour=0, minute=0, second=0)
            until = now.replace(minute=35, second=0)
            yesterday = leaderboard(
                guild=guild, start=day_start - timedelta(days=1), end=until - timedelta(days=1)
            ).total_views_gained
            week_start = day_start - timedelta(days=2)  # Monday
            last_week = leaderboard(
                guild=guild, start=week_start - timedelta(days=7), end=until - timedelta(days=7)
            ).total_views_gained
        assert (ctx["today"].previous, ctx["today"].previous_label) == (yesterday, "yesterday until 14:35")
        assert 0 < yesterday < 900_000
        assert (ctx["week"].previous, ctx["week"].previous_label) == (last_week, "last week until Wed 14:35")
        body = admin_client.get(url(guild)).content.decode()
        assert "vs yesterday until 14:35" in body
        # computed once per five minutes: a late measurement of yesterday shows from the next step
        make_snapshot(post, views=950_000, at=now - timedelta(days=1, hours=3))
        assert admin_client.get(url(guild)).context["today"].previous == yesterday
    with time_machine.travel(now + timedelta(minutes=3), tick=False):
        assert admin_client.get(url(guild)).context["today"].previous > yesterday


@pytest.mark.usefixtures("no_chart_cache")
def test_overview_chart_day_equals_that_days_leaderboard(admin_client, guild):
    seed(guild)
    ctx = admin_client.get(url(guild)).context
    start, end = period_bounds(period="yesterday", now=timezone.now(), tz=guild.tz)
    with guild_scope(guild.pk):
        yesterday = leaderboard(guild=guild, start=start, end=end).total_views_gained
    assert yesterday > 0
    assert ctx["chart"]["views"][-2] == yesterday
    assert ctx["chart"]["days"][-2] == start.date().isoformat()


@pytest.mark.parametrize("period", ["day", "yesterday", "week", "last_week", "month"])
def test_leaderboard_page_and_csv_match_the_selector(admin_client, guild, period):
    seed(guild)
    board = _board(guild, period)
    page = admin_client.get(url(guild, "leaderboard"), {"period": period})
    assert page.context["board"].creators == board.creators
    response = admin_client.get(url(guild, "leaderboard-csv"), {"period": period})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(int(r["rank"]), r["creator"], int(r["views_gained"])) for r in rows] == [
        (c.rank, c.creator_name, c.views_gained) for c in board.creators
    ]


def test_csv_neutralises_formula_usernames(admin_client, guild):
    creator = make_creator(guild, username="=HYPERLINK(evil)")
    post = make_post(guild, make_profile(guild, creator), posted_at=timezone.now() - timedelta(hours=3))
    make_snapshot(post, views=50, at=timezone.now() - timedelta(minutes=1))
    with guild_scope(guild.pk):
        Post.objects.filter(pk=post.pk).update(metrics_updated_at=timezone.now())
    body = b"".join(admin_client.get(url(guild, "leaderboard-csv"), {"period": "week"}).streaming_content).decode()
    assert "'=HYPERLINK(evil)" in body


def test_unknown_period_is_refused_with_the_periods_to_use(admin_client, guild):
    for page in ("leaderboard", "leaderboard-csv"):
        response = admin_client.get(reverse(f"dashboard:{page}", args=[guild.pk]), {"period": "forever"})
        assert response.status_code == 400
        message = "Unknown period &#x27;forever&#x27;: use one of day, yesterday, week, last_week, month."
        assert message in response.content.decode()


def test_budget_forecast_extrapolates_the_month(admin_client, guild):
    from guilds.budgets import usage_day
    from guilds.models import GuildApiUsage

    today = usage_day()
    with guild_scope(guild.pk):
        GuildApiUsage.objects.create(guild=guild, day=today, apify_run_count=40)
    summary = admin_client.get(url(guild, "budget")).context["summary"]
    apify = summary.lines[0]
    assert (apify.used_today, apify.daily_limit, apify.used_month) == (40, 100, 40)
    assert apify.limit_month == 100 * summary.days_in_month
    assert apify.forecast_month >= 40


def test_audit_log_lists_this_guilds_entries_only(admin_client, guild, other_guild):
    from guilds.audit import record_audit

    with guild_scope(other_guild.pk):
        record_audit(
            guild_id=other_guild.pk,
            actor="discord:1 mallory",
            action="budget.update",
            target_type="guild_budget_config",
            before={"x": 1},
            after={"x": 2},
        )
    admin_client.post(url(guild, "budget"), {**BUDGET, "daily_apify_run_limit": 120})
    body = admin_client.get(url(guild, "audit")).content.decode()
    assert "budget.update" in body and "mallory" not in body
    assert "<del>100</del>" in body and "<ins>120</ins>" in body


def test_rules_and_clients_are_listed(admin_client, guild):
    make_bonus_rule(guild, name="10k club")
    make_client_account(guild, name="Northwind", required_tags=["#northwind"])
    assert "10k club" in admin_client.get(url(guild, "bonus-rules")).content.decode()
    body = admin_client.get(url(guild, "clients")).content.decode()
    assert "Northwind" in body and "#northwind" in body


# --- a constant number of queries -------------------------------------------------------------


# What each page costs (PostgreSQL adds the tenancy scope's set_config calls). The overview draws
# 30 days of views gained with one leaderboard query per day; the other pages stay small.
QUERY_BUDGET = {
    "overview": 16,  # + the health banner (merged on main) + the top posts' captions
    "posts": 12,
    "creators": 12,
    "leaderboard": 11,  # + the top posts' captions
    "clients": 10,
    "bonus-rules": 11,  # + the announcements' true state
    "budget": 12,
    "settings": 10,
    "audit": 10,
    "money": 12,
}


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def no_chart_cache(settings):
    settings.DASHBOARD_CHART_CACHE_SECONDS = 0


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.usefixtures("no_chart_cache")
def test_every_page_is_a_constant_number_of_queries(admin_client, guild, page, django_assert_max_num_queries):
    seed(guild, creators=1, posts_each=1)
    admin_client.post(url(guild, "budget"), {**BUDGET, "daily_apify_run_limit": 99})
    small = _queries(admin_client, url(guild, page))
    seed(guild, creators=4, posts_each=3)
    for post in seed(guild, creators=1, posts_each=1):
        _flag(post)
    admin_client.post(url(guild, "budget"), {**BUDGET, "daily_apify_run_limit": 101})
    large = _queries(admin_client, url(guild, page))
    assert large == small
    with django_assert_max_num_queries(QUERY_BUDGET[page]):
        admin_client.get(url(guild, page))


def test_post_detail_is_a_constant_number_of_queries(admin_client, guild):
    posts = seed(guild, creators=1, posts_each=2)
    few = _queries(admin_client, url(guild, "post-detail", posts[0].pk))
    for day in range(30):
        make_snapshot(posts[1], views=2000 + day, at=timezone.now() - timedelta(days=30 - day, hours=2))
    _flag(posts[1])
    _flag(posts[1], reason="second")
    assert _queries(admin_client, url(guild, "post-detail", posts[1].pk)) == few


def test_picker_is_a_constant_number_of_queries(client, guild, other_guild, django_assert_max_num_queries):
    use_cookies(client, log_in(guilds=[(guild, "owner"), (other_guild, "admin")]))
    with django_assert_max_num_queries(3):
        assert client.get("/dashboard/").status_code == 200


def test_leaderboard_csv_start_and_end_share_the_guilds_zone_to_the_second(admin_client, guild):
    with guild_scope(guild.pk):
        type(guild).objects.filter(pk=guild.pk).update(timezone="America/New_York")
    seed(guild, creators=1, posts_each=1)
    body = b"".join(admin_client.get(url(guild, "leaderboard-csv"), {"period": "week"}).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows
    start, end = rows[0]["period_start"], rows[0]["period_end"]
    assert start[-6:] == end[-6:] in ("-05:00", "-04:00")  # one zone: the guild's
    assert "." not in start and "." not in end  # no microseconds


def test_an_instagram_post_not_a_instagram_post():
    assert [a_or_an(w) for w in ("Instagram", "TikTok", "X", "YouTube")] == [
        "an Instagram",
        "a TikTok",
        "an X",
        "a YouTube",
    ]
