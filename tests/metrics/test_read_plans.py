"""Plans under row-level security: the hot reads keep their time bounds in the index.

The guild policy is not leakproof-free, so PostgreSQL runs it before any qual that is not leakproof:
a bound such as ``captured_at < LEAST(COALESCE(counting_ends_at, end), end)`` then becomes a Filter
applied after walking every newer snapshot of the post (seconds on a large guild). These tests
EXPLAIN the queries as the restricted role (tests run as it on PostgreSQL) and require the time bound
in the Index Cond of every scan, never in a Filter: ``captured_at`` for the snapshot table, ``day``
for the daily rollups.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from earnings.selectors import _views_before as earnings_views_before
from guilds.models import Creator, Guild, GuildBudgetConfig
from metrics.models import VideoMetrics
from metrics.rollups import rebuild_rollups
from metrics.selectors import _page_sql, gain_rows, total_gains
from tracking.models import ClientAccount, Post, Profile

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

GUILDS, POSTS_PER_GUILD, SNAPSHOTS_PER_POST = 2, 300, 48


@pytest.fixture
def guild():
    """Two guilds of hourly-measured posts, half with a counting window, analysed like production."""
    now = timezone.now()
    with rls_bypass(reason="test setup"):
        guilds = Guild.objects.bulk_create([Guild(id=1710000000000000000 + i, name=f"G{i}") for i in range(GUILDS)])
        GuildBudgetConfig.objects.bulk_create([GuildBudgetConfig(guild=g) for g in guilds])
        posts = []
        for i, g in enumerate(guilds):
            snowflake = str(1_610_000_000_000_000_000 + i)
            creator = Creator.objects.create(guild=g, discord_user_id=snowflake, username=f"c{i}")
            profile = Profile.objects.create(guild=g, creator=creator, platform="tiktok", handle=f"h{i}")
            client = ClientAccount.objects.create(guild=g, name="Brand")
            posts += [
                Post(
                    guild=g,
                    creator=creator,
                    profile=profile,
                    client_account=client,
                    platform="tiktok",
                    external_id=f"{i}-{k}",
                    submitted_url="https://t.example/x",
                    canonical_url=f"https://www.tiktok.com/@h{i}/video/{k}",
                    status="tracking",
                    submitted_at=now - timedelta(hours=SNAPSHOTS_PER_POST),
                    posted_at=now - timedelta(hours=SNAPSHOTS_PER_POST),
                    metrics_updated_at=now,
                    counting_ends_at=now - timedelta(hours=k % 24) if k % 2 else None,
                )
                for k in range(POSTS_PER_GUILD)
            ]
        posts = Post.objects.bulk_create(posts, batch_size=2000)
        VideoMetrics.objects.bulk_create(
            [
                VideoMetrics(guild_id=p.guild_id, post=p, captured_at=now - timedelta(hours=h), views=9_999 - h)
                for p in posts
                for h in range(SNAPSHOTS_PER_POST)
            ],
            batch_size=5000,
        )
        rebuild_rollups()
    with connection.cursor() as cursor:  # statistics, as autovacuum would have them in production
        cursor.execute("RESET ROLE")
        cursor.execute(
            "ANALYZE tracking_post, metrics_videometrics, metrics_postdailyrollup, guilds_creator,"
            " tracking_clientaccount"
        )
        cursor.execute("SET LOCAL ROLE tracking_app")
    return guilds[1]


SNAPSHOTS, ROLLUPS = ("metrics_videometrics", "captured_at"), ("metrics_postdailyrollup", "day")


def _scans(plan: str, table: str = SNAPSHOTS[0]) -> list[list[str]]:
    """Each scan node of ``table`` with its detail lines (Index Cond, Filter, ...)."""
    scans, current = [], None
    for line in plan.splitlines():
        text = line.strip().removeprefix("->").strip()
        if "Scan" in text and " on " in text:
            current = [text] if f" on {table} " in f"{text} " else None
            if current is not None:
                scans.append(current)
        elif current is not None and ":" in text:
            current.append(text)
    return scans


def _assert_time_bound_in_index(plan: str, expected_scans: int, table: tuple[str, str] = SNAPSHOTS) -> None:
    name, bound = table
    scans = _scans(plan, name)
    assert len(scans) == expected_scans, plan
    for scan in scans:
        assert "Seq Scan" not in scan[0], plan
        # a bitmap heap scan's bound is its bitmap index scan's Index Cond, shown as its Recheck Cond
        conds = [line for line in scan if line.startswith(("Index Cond:", "Recheck Cond:"))]
        filters = [line for line in scan if line.startswith("Filter:")]
        assert conds and bound in conds[0], plan
        assert not any(bound in f for f in filters), plan


def _explain(queryset) -> str:
    return _explain_sql(*queryset.query.sql_with_params())


def _explain_sql(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == ("tracking_app", False)
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_leaderboard_bounds_are_index_conditions(guild):
    """Whole days and now from the rollups (``day`` bounded in the index); instants inside a day,
    a counting window's end and the first measurement inside the period from the snapshots
    (``captured_at`` bounded): every scan bounded in the index, never a filter after the policy."""
    now = timezone.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    cases = [
        # start inside a day a while ago: the snapshots; end now: the post's own numbers, else today's
        # rollups (joined) or the newest before today (probed), then the snapshots; plus the counting
        # window's end and the first measurement inside the period
        ((now - timedelta(days=1), now), 1 + 1 + 2, 1 + 1),
        # both inside days a while ago: the snapshots
        ((now - timedelta(hours=30), now - timedelta(hours=6)), 1 + 1 + 2, 0),
        # start at a UTC midnight: the day before's rollups (joined), else the newest before (probed)
        ((midnight - timedelta(days=1), now), 0 + 1 + 2, 2 + 2),
        # both at UTC midnights: the rollups only, but the counting window and the first measurement
        ((midnight - timedelta(days=1), midnight), 0 + 0 + 2, 2 + 2),
    ]
    with guild_scope(guild.pk):
        for (start, end), snapshot_scans, rollup_scans in cases:
            plan = _explain(gain_rows(guild=guild, start=start, end=end))
            _assert_time_bound_in_index(plan, expected_scans=snapshot_scans)
            _assert_time_bound_in_index(plan, expected_scans=rollup_scans, table=ROLLUPS)
            assert "COALESCE(tracking_post.counting_ends_at" not in plan, plan
            assert "Sort" not in plan, plan  # no default ordering: the gains are sorted in Python
            # the API's page: the same per-post probes, once each (materialized), summed and sorted in SQL
            plan = _explain_sql(*_page_sql(guild, start, end, 0, 50))
            _assert_time_bound_in_index(plan, expected_scans=snapshot_scans)
            _assert_time_bound_in_index(plan, expected_scans=rollup_scans, table=ROLLUPS)


def test_total_gains_and_earnings_bounds_are_index_conditions(guild):
    """The overview's bulk windows (a chart day between midnights, today so far) and the earnings
    rows' window views read the same way: every scan bounded in the index."""
    now = timezone.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    windows = [(midnight - timedelta(days=2), midnight - timedelta(days=1)), (midnight, now)]
    with guild_scope(guild.pk):
        with CaptureQueriesContext(connection) as ctx:
            total_gains(guild=guild, windows=windows)
        (query,) = ctx.captured_queries
        plan = _explain_sql(query["sql"], [])
        # per window: the end (the counting window's; the rollups — the day's joined, the newest
        # before probed — then the snapshots for today), the start (the rollups, joined and probed;
        # the first measurement inside the period)
        _assert_time_bound_in_index(plan, expected_scans=2 + 3)
        _assert_time_bound_in_index(plan, expected_scans=4 + 4, table=ROLLUPS)
        views = Post.objects.for_guild(guild).annotate(
            at_start=earnings_views_before(now - timedelta(hours=30)), at_end=earnings_views_before(now)
        )
        plan = _explain(views)
        _assert_time_bound_in_index(plan, expected_scans=2 + 2)
        _assert_time_bound_in_index(plan, expected_scans=0 + 1, table=ROLLUPS)


def test_series_bounds_are_index_conditions(guild):
    """A post's series between two moments (the API's /posts/{id}/series?start=&end=)."""
    now = timezone.now()
    with guild_scope(guild.pk):
        post = Post.objects.for_guild(guild).order_by("pk").first()
        series = (
            VideoMetrics.objects.for_guild(guild)
            .filter(post_id=post.pk, captured_at__gte=now - timedelta(hours=12), captured_at__lt=now)
            .order_by("captured_at")
        )
        _assert_time_bound_in_index(_explain(series), expected_scans=1)


def test_ingestion_lookup_is_an_index_condition(guild):
    """Ingestion's look-up of the snapshots already stored at this dataset's capture time
    (metrics.ingestion: the (guild, captured_at) index, no IN-list of post ids)."""
    with guild_scope(guild.pk):
        at = VideoMetrics.objects.for_guild(guild).order_by("captured_at").values_list("captured_at", flat=True)[0]
        lookup = VideoMetrics.objects.for_guild(guild).filter(captured_at=at).values_list("post_id", flat=True)
        _assert_time_bound_in_index(_explain(lookup), expected_scans=1)


def test_connections_run_without_jit():
    """JIT only adds compile time to these short reads (DATABASE_JIT, default off)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_ingestions_search_for_unresolved_posts_uses_the_partial_index(guild):
    """Every ingest asks for the posts still waiting for their first scrape (metrics.ingestion's
    _load_posts when every item matched by id): a partial index, not a scan of the guild's posts."""
    with guild_scope(guild.pk):
        waiting = Post.objects.for_guild(guild).filter(platform="tiktok").filter(needs_resolution=True)
        plan = _explain(waiting)
    assert "post_needs_resolution" in plan and "Seq Scan" not in plan, plan


def test_a_kept_pages_check_is_an_index_condition(guild):
    """The one statement that lets a kept list page be served again (core/api/page_cache.py): the
    guild's change notes after the page's snapshot, on the (guild, xid) index."""
    from core.api.page_cache import _UNCHANGED
    from core.models import GuildChange

    with rls_bypass(reason="test setup"):
        GuildChange.objects.bulk_create(
            [GuildChange(guild_id=(guild.pk, 1710000000000000000, 0)[i % 3], xid=1000 + i) for i in range(30_000)]
        )
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute("ANALYZE core_guildchange")
        cursor.execute("SET LOCAL ROLE tracking_app")
        cursor.execute("SELECT pg_current_snapshot()::text")
        (snapshot,) = cursor.fetchone()
    with guild_scope(guild.pk):
        plan = _explain_sql(_UNCHANGED, [guild.pk, snapshot, snapshot])
    scans = _scans(plan, "core_guildchange")
    assert len(scans) == 1 and "Seq Scan" not in scans[0][0], plan
    conds = [line for line in scans[0] if line.startswith(("Index Cond:", "Recheck Cond:"))]
    assert conds and "guild_id" in conds[0] and "xid >=" in conds[0], plan
