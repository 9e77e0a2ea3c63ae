"""The policies must not slow the dashboard: with enough rows to matter, the leaderboard and the
post list are answered from indexes led by guild_id — never a scan of the snapshot table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from guilds.models import Creator, Guild, GuildBudgetConfig
from metrics.models import VideoMetrics
from metrics.selectors import posts_with_gains
from tracking.models import ClientAccount, Post, Profile

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

GUILDS, POSTS_PER_GUILD, SNAPSHOTS_PER_POST = 4, 1500, 12


@pytest.fixture
def big_tables():
    now = timezone.now()
    with rls_bypass(reason="test setup"):
        guilds = Guild.objects.bulk_create([Guild(id=1700000000000000000 + i, name=f"G{i}") for i in range(GUILDS)])
        GuildBudgetConfig.objects.bulk_create([GuildBudgetConfig(guild=g) for g in guilds])
        creators = Creator.objects.bulk_create(
            [
                Creator(guild=g, discord_user_id=str(1_600_000_000_000_000_000 + i * 10 + j), username=f"c{i}-{j}")
                for i, g in enumerate(guilds)
                for j in range(10)
            ]
        )
        profiles = Profile.objects.bulk_create(
            [
                Profile(guild_id=c.guild_id, creator=c, platform="tiktok", handle=f"h{c.discord_user_id}")
                for c in creators
            ]
        )
        clients = {g.pk: ClientAccount.objects.create(guild=g, name="Brand") for g in guilds}
        posts = Post.objects.bulk_create(
            [
                Post(
                    guild_id=p.guild_id,
                    creator_id=p.creator_id,
                    profile=p,
                    client_account=clients[p.guild_id],
                    platform="tiktok",
                    external_id=f"{p.pk}-{k}",
                    submitted_url="https://t.example/x",
                    canonical_url=f"https://www.tiktok.com/@{p.handle}/video/{p.pk}{k}",
                    status="tracking",
                    submitted_at=now - timedelta(days=k % 30),
                    posted_at=now - timedelta(days=k % 30),
                    metrics_updated_at=now - timedelta(hours=k % 200),
                )
                for p in profiles
                for k in range(POSTS_PER_GUILD // 10)
            ],
            batch_size=2000,
        )
        VideoMetrics.objects.bulk_create(
            [
                VideoMetrics(
                    guild_id=p.guild_id,
                    post=p,
                    captured_at=now - timedelta(hours=6 * s),
                    views=1000 - s,
                    provider="apify",
                )
                for p in posts
                for s in range(SNAPSHOTS_PER_POST)
            ],
            batch_size=5000,
        )
    with connection.cursor() as cursor:  # statistics, as autovacuum would have them in production
        cursor.execute("RESET ROLE")
        cursor.execute("ANALYZE tracking_post, metrics_videometrics, guilds_creator, tracking_clientaccount")
        cursor.execute("SET LOCAL ROLE tracking_app")
    return guilds


def _plan(queryset) -> str:
    return queryset.explain()


def test_dashboard_queries_use_guild_led_indexes(big_tables):
    """One data set, three dashboard reads (building it is the expensive part)."""
    guild = big_tables[1]
    now = timezone.now()
    with guild_scope(guild.pk):
        post_list = _plan(Post.objects.for_guild(guild).filter(status="tracking").order_by("-submitted_at")[:50])
        board = _plan(posts_with_gains(guild=guild, start=now - timedelta(days=1), end=now))
        post = Post.objects.for_guild(guild).first()
        series = _plan(VideoMetrics.objects.for_guild(guild).filter(post=post).order_by("captured_at"))
    assert "Seq Scan on tracking_post" not in post_list and "Index" in post_list, post_list
    assert "Seq Scan on metrics_videometrics" not in board, board
    assert "Seq Scan on tracking_post" not in board and "Index" in board, board
    assert "Seq Scan" not in series and "Index" in series, series
