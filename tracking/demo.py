"""Demo data: one guild with creators, verified profiles on every platform, client accounts, posts
and a few weeks of realistic snapshot history. Idempotent: running it again leaves the same rows."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.tenancy import guild_scope
from earnings.demo import load_demo_money
from guilds.models import BonusRule, Creator, Guild, GuildApiUsage, GuildBudgetConfig
from metrics.models import VideoMetrics
from metrics.rollups import rebuild_rollups
from tracking.models import ClientAccount, Post, Profile
from tracking.platforms import registry
from tracking.platforms.spec import PlatformSpec

DEMO_GUILD_ID = 1305873342910234624
DEMO_DAYS = 21
CREATORS = [
    ("1187330951225446401", "maya.clips"),
    ("1201456789012345602", "jonas_edits"),
    ("1224098765432109803", "pixelpriya"),
    ("1239876543210987604", "theo.cuts"),
    ("1256789012345678905", "ana.reels"),
]
CLIENTS = [
    ("Acme Energy", ["#acmeenergy"], ["scam"]),
    ("Northwind Audio", ["#northwind", "@northwindaudio"], []),
    ("Globex Games", ["#globex"], ["cheat"]),
]


@dataclass(frozen=True)
class DemoCounts:
    guilds: int
    creators: int
    profiles: int
    posts: int
    snapshots: int
    brand_report_path: str = ""  # the demo campaign's brand report link (path; add the site's base)


def _demo_handle(spec: PlatformSpec, username: str) -> str:
    """The creator's name as a handle on ``spec``'s platform. The demo names are TikTok-style; where a
    platform refuses their dots (X), they become underscores."""
    return username if spec.handle_rule.pattern.fullmatch(username) else username.replace(".", "_")


def _curve(hours: float, ceiling: int, tau: float) -> int:
    """Views after ``hours``: fast early growth that flattens (a saturating exponential)."""
    return int(ceiling * (1 - math.exp(-hours / tau)))


def _capture_times(posted: datetime, now: datetime) -> list[datetime]:
    """Hourly for two days, every six hours for a week, then daily — like the scheduler's cadence."""
    times, t = [], posted + timedelta(hours=1)
    while t <= now:
        times.append(t)
        age = (t - posted).total_seconds() / 3600
        t += timedelta(hours=1 if age < 48 else 6 if age < 168 else 24)
    return times


def _snapshots(post: Post, rng: random.Random, now: datetime) -> list[VideoMetrics]:
    ceiling, tau = rng.choice([(8_000, 20), (60_000, 30), (250_000, 40), (1_500_000, 60)])
    rows = []
    for t in _capture_times(post.posted_at, now):
        views = _curve((t - post.posted_at).total_seconds() / 3600, ceiling, tau)
        rows.append(
            VideoMetrics(
                guild_id=post.guild_id,
                post=post,
                captured_at=t,
                views=views,
                likes=int(views * 0.08),
                comments=int(views * 0.004),
                shares=int(views * 0.002),
                provider=VideoMetrics.Provider.DEMO,
                source_field="demo",
            )
        )
    return rows


@transaction.atomic
def load_demo_data(*, now: datetime | None = None, posts_per_profile: int = 2) -> DemoCounts:
    """Create or refresh the demo guild. Same row counts however often it runs."""
    now = now or timezone.now()
    rng = random.Random(20261128)
    with guild_scope(DEMO_GUILD_ID):
        guild, _ = Guild.objects.update_or_create(
            id=DEMO_GUILD_ID,
            defaults={
                "name": "Demo Clipping Guild",
                "timezone": "Europe/Paris",
                "logs_channel_id": "1305873401233510400",
                "updates_channel_id": "1305873401233510401",
            },
        )
        GuildBudgetConfig.objects.get_or_create(guild=guild)
        clients = [
            ClientAccount.objects.update_or_create(
                guild=guild, name=name, defaults={"required_tags": tags, "banned_words": banned, "cpm_rate": 1.5}
            )[0]
            for name, tags, banned in CLIENTS
        ]
        for rule in [
            ("10k club", "threshold", 10_000, None, 25),
            ("100k club", "threshold", 100_000, None, 100),
            ("Top clipper", "top_n", None, 1, 150),
            ("Runner-up", "top_n", None, 2, 75),
        ]:
            BonusRule.objects.update_or_create(
                guild=guild,
                name=rule[0],
                defaults={"kind": rule[1], "min_views_gained": rule[2], "place": rule[3], "amount": rule[4]},
            )
        posts = []
        for discord_id, username in CREATORS:
            creator, _ = Creator.objects.update_or_create(
                guild=guild, discord_user_id=discord_id, defaults={"username": username}
            )
            for spec in registry.all_specs():
                profile, _ = Profile.objects.update_or_create(
                    guild=guild,
                    platform=spec.key,
                    handle=_demo_handle(spec, username),
                    defaults={
                        "creator": creator,
                        "verification_status": Profile.Verification.VERIFIED,
                        "verified_at": now - timedelta(days=DEMO_DAYS + 1),
                        "verified_by": "demo data",
                        "platform_user_id": str(rng.randrange(10**15, 10**16)),
                    },
                )
                for _ in range(posts_per_profile):
                    posts.append(_demo_post(guild, creator, profile, rng.choice(clients), rng, now))
        for i in range(7):  # a week of API usage so the budget page has history
            GuildApiUsage.objects.update_or_create(
                guild=guild,
                day=(now - timedelta(days=i)).date(),
                defaults={
                    "apify_run_count": rng.randrange(20, 60),
                    "youtube_quota_used": rng.randrange(5, 40),
                    "openai_call_count": rng.randrange(2, 20),
                    "openai_tokens_used": rng.randrange(500, 9000),
                },
            )
        VideoMetrics.objects.filter(post__in=posts, provider=VideoMetrics.Provider.DEMO).delete()
        VideoMetrics.objects.bulk_create([s for p in posts for s in _snapshots(p, rng, now)], batch_size=2000)
        rebuild_rollups(guild_id=guild.pk)  # the leaderboard reads whole days from them
        _sync_latest(posts)
        brand_report_path = load_demo_money(guild=guild, now=now)
        return DemoCounts(
            guilds=1,
            creators=Creator.objects.for_guild(guild).count(),
            profiles=Profile.objects.for_guild(guild).count(),
            posts=Post.objects.for_guild(guild).count(),
            snapshots=VideoMetrics.objects.for_guild(guild).count(),
            brand_report_path=brand_report_path,
        )


def _demo_post(guild, creator, profile, client, rng: random.Random, now: datetime) -> Post:
    external_id, url = registry.get(profile.platform).demo_post(profile.handle, rng)
    posted = now - timedelta(hours=rng.randrange(6, DEMO_DAYS * 24))
    defaults = {
        "creator": creator,
        "profile": profile,
        "client_account": client,
        "submitted_url": url,
        "canonical_url": url,
        "posted_at": posted,
        "submitted_at": posted + timedelta(minutes=20),
        "counting_ends_at": posted + timedelta(minutes=20, days=client.counting_window_days),
        "caption": f"New drop with {client.required_tags[0]} 🔥",
        "author_handle": profile.handle,
        "author_platform_id": profile.platform_user_id,
    }
    # The status is set on creation only: a rerun keeps what the demo's money step did (held, finalized).
    post, _ = Post.objects.update_or_create(
        guild=guild,
        platform=profile.platform,
        external_id=external_id,
        defaults=defaults,
        create_defaults={**defaults, "status": Post.Status.TRACKING},
    )
    return post


def _sync_latest(posts: list[Post]) -> None:
    """Copy each post's newest snapshot onto the post (as ingestion does)."""
    latest = {}
    for s in (
        VideoMetrics.objects.filter(post__in=posts)
        .order_by("post_id", "-captured_at")
        .distinct()
        .values("post_id", "captured_at", "views", "likes", "comments", "shares")
    ):
        latest.setdefault(s["post_id"], s)
    for post in posts:
        s = latest.get(post.pk)
        if s:
            post.views, post.likes, post.comments, post.shares = s["views"], s["likes"], s["comments"], s["shares"]
            post.metrics_updated_at = s["captured_at"]
            post.next_refresh_at = s["captured_at"] + timedelta(hours=1)
    Post.objects.bulk_update(posts, ["views", "likes", "comments", "shares", "metrics_updated_at", "next_refresh_at"])
