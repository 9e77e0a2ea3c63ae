"""The overview in a handful of queries whatever the guild's size: period cards and comparisons in one
bulk query, the chart's missing days a chunk per query (each chunk cached as computed), freshness
counted in SQL with the scheduler's own cadence."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.tenancy import guild_scope
from dashboard import selectors
from guilds.budgets import budget_for
from tests.factories import make_client_account, make_creator, make_post, make_profile, make_snapshot
from tracking.cadence import Cadence, refresh_interval
from tracking.models import Post

pytestmark = pytest.mark.django_db


def _posts(guild, n, rng):
    now = timezone.now()
    client, profile = make_client_account(guild), make_profile(guild, make_creator(guild))
    for _ in range(n):
        post = make_post(
            guild,
            profile,
            client_account=client,
            posted_at=now - timedelta(days=rng.randint(0, 40)),
            submitted_at=now - timedelta(days=40),
            metrics_updated_at=now - timedelta(minutes=rng.randint(1, 60 * 24 * 10)),
        )
        for back in rng.sample(range(0, 24 * 35, 5), 4):
            make_snapshot(post, views=rng.randint(0, 50_000), at=now - timedelta(hours=back, minutes=3))


def _overview_queries(client, guild) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("dashboard:overview", args=[guild.pk])).status_code == 200
    return len(ctx.captured_queries)


def test_overview_queries_do_not_grow_with_the_guild(admin_client, guild, settings):
    settings.DASHBOARD_CHART_CACHE_SECONDS = 0  # the chart cold on every request: the worst case
    rng = random.Random(5)
    _posts(guild, 5, rng)
    few = _overview_queries(admin_client, guild)
    _posts(guild, 45, rng)
    many = _overview_queries(admin_client, guild)
    assert few == many <= 16  # 14 + the health banner (merged on main) + the top posts' captions (one query)


def _fresh_in_python(guild, now) -> tuple[int, int]:
    """The reference: each tracked post against tracking.cadence.refresh_interval."""
    cadence = Cadence.of(budget_for(guild))
    fresh = tracked = 0
    for post in Post.objects.for_guild(guild).filter(status__in=Post.REFRESHABLE):
        if post.counting_ends_at is not None and post.counting_ends_at <= now:
            continue
        tracked += 1
        fresh += bool(post.metrics_updated_at and post.metrics_updated_at >= now - refresh_interval(post, now, cadence))
    return fresh, tracked


def test_freshness_in_sql_is_the_schedulers_cadence(guild):
    rng = random.Random(17)
    now = timezone.now()
    client, profile = make_client_account(guild), make_profile(guild, make_creator(guild))
    for _ in range(120):
        views = rng.choice([None, 0, 500, 5_000, 80_000])
        make_post(
            guild,
            profile,
            client_account=client,
            status=rng.choice(["tracking", "tracking", "flagged", "unavailable", "finalized", "rejected"]),
            posted_at=rng.choice([None, now - timedelta(hours=rng.randint(1, 24 * 20))]),
            submitted_at=now - timedelta(hours=rng.randint(1, 24 * 20)),
            views=views,
            growth_per_hour=rng.choice([-5.0, 0.0, 0.3, 3.0, 40.0, 900.0]),
            failure_count=rng.choice([0, 0, 2]),
            metrics_updated_at=rng.choice([None, now - timedelta(minutes=rng.randint(1, 60 * 24 * 9))]),
            counting_ends_at=rng.choice([None, now - timedelta(days=1), now + timedelta(days=3)]),
        )
    with guild_scope(guild.pk):
        expected = _fresh_in_python(guild, now)
        got = selectors.freshness(guild=guild, now=now)
    assert (got.fresh, got.tracked) == expected
    assert 0 < got.fresh < got.tracked < 120  # the mix really has fresh, stale and untracked posts


def test_cold_chart_is_cached_chunk_by_chunk(guild, settings, monkeypatch):
    """A request that dies after the first chunk still leaves that chunk cached for the next one."""
    settings.DASHBOARD_CHART_CACHE_SECONDS = 300
    _posts(guild, 3, random.Random(3))
    now = timezone.now()
    calls = []
    real = selectors.total_gains

    def failing_after_first(**kwargs):
        calls.append(len(kwargs["windows"]))
        if len(calls) > 1:
            raise TimeoutError("worker timeout")
        return real(**kwargs)

    monkeypatch.setattr(selectors, "total_gains", failing_after_first)
    with guild_scope(guild.pk), pytest.raises(TimeoutError):
        selectors.daily_gains(guild=guild, now=now, today_gained=0)
    monkeypatch.setattr(selectors, "total_gains", real)
    with guild_scope(guild.pk), CaptureQueriesContext(connection) as ctx:
        series = selectors.daily_gains(guild=guild, now=now, today_gained=0)
    assert calls[0] == selectors.CHART_CHUNK_DAYS
    assert len(ctx.captured_queries) == 2  # 19 days left: two chunks, the first ten came from the cache
    assert len(series) == selectors.CHART_DAYS
