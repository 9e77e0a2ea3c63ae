"""Small factories: the fewest rows that make a realistic guild. Every one takes overrides."""

from __future__ import annotations

import functools
import itertools
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from core.tenancy import rls_bypass
from guilds.models import BonusRule, Creator, Guild, GuildBudgetConfig
from metrics.models import VideoMetrics
from metrics.rollups import upsert_rollups_sql
from tracking.models import Campaign, ClientAccount, Post, Profile
from tracking.platforms import Platform

_seq = itertools.count(1)


def _n() -> int:
    return next(_seq)


def factory(fn):
    """Factories write across guilds, so they use the explicit bypass (tests run under RLS on PostgreSQL)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with rls_bypass(reason="test factory"):
            return fn(*args, **kwargs)

    return wrapper


@factory
def make_guild(**kw) -> Guild:
    n = _n()
    guild = Guild.objects.create(**{"id": 1_300_000_000_000_000_000 + n, "name": f"Guild {n}", **kw})
    GuildBudgetConfig.objects.create(guild=guild)
    return guild


@factory
def make_creator(guild: Guild, **kw) -> Creator:
    n = _n()
    return Creator.objects.create(
        **{"guild": guild, "discord_user_id": str(1_200_000_000_000_000_000 + n), "username": f"creator{n}", **kw}
    )


@factory
def make_client_account(guild: Guild, **kw) -> ClientAccount:
    return ClientAccount.objects.create(**{"guild": guild, "name": f"Brand {_n()}", **kw})


@factory
def make_campaign(guild: Guild, **kw) -> Campaign:
    """An active campaign (its own client account unless given) paying 1.00 per 1,000 views in USD."""
    client = kw.pop("client_account", None) or make_client_account(guild)
    defaults = {
        "guild": guild,
        "client_account": client,
        "name": f"Campaign {_n()}",
        "status": Campaign.Status.ACTIVE,
        "starts_at": timezone.now() - timedelta(days=60),
        "rate_per_1000": "1.00",
    }
    campaign = Campaign.objects.create(**{**defaults, **kw})
    campaign.refresh_from_db()  # money as the database holds it: Decimals, not the strings given
    campaign.client_account = client  # keep the relation cached: tests read it outside any guild scope
    return campaign


@factory
def make_profile(guild: Guild, creator: Creator | None = None, **kw) -> Profile:
    creator = creator or make_creator(guild)
    defaults = {
        "guild": guild,
        "creator": creator,
        "platform": Platform.TIKTOK,
        "handle": f"handle{_n()}",
        "verification_status": Profile.Verification.VERIFIED,
        "verified_at": timezone.now(),
    }
    return Profile.objects.create(**{**defaults, **kw})


@factory
def make_post(guild: Guild, profile: Profile | None = None, **kw) -> Post:
    profile = profile or make_profile(guild)
    client = kw.pop("client_account", None) or make_client_account(guild)
    n = _n()
    external_id = kw.pop("external_id", str(7000000000000000000 + n))
    url = f"https://www.tiktok.com/@{profile.handle}/video/{external_id}"
    defaults = {
        "guild": guild,
        "creator": profile.creator,
        "profile": profile,
        "client_account": client,
        "platform": profile.platform,
        "external_id": external_id,
        "submitted_url": url,
        "canonical_url": url,
        "status": Post.Status.TRACKING,
        "posted_at": timezone.now() - timedelta(days=1),
    }
    return Post.objects.create(**{**defaults, **kw})


@factory
def make_snapshot(post: Post, *, views: int, at=None, **kw) -> VideoMetrics:
    """A snapshot, folded into the daily rollups as ingestion does (metrics.rollups)."""
    snapshot = VideoMetrics.objects.create(
        guild_id=post.guild_id,
        post=post,
        captured_at=at or timezone.now(),
        views=views,
        provider=kw.pop("provider", VideoMetrics.Provider.APIFY),
        **kw,
    )
    fold_into_rollups([snapshot.pk])
    return snapshot


def make_gains(guild: Guild, gains_per_creator, *, now=None, username: str | None = None) -> list[Creator]:
    """A creator per entry (``username`` a format string of their index, e.g. "clipper{}") and a post
    per gain: 1,000 views 15 days ago (before any week) and 1,000 + gain two minutes ago, so each post
    gained exactly that today, this week and this month."""
    now = now or timezone.now()
    creators = []
    for i, gains in enumerate(gains_per_creator):
        creator = make_creator(guild, **({"username": username.format(i)} if username else {}))
        profile = make_profile(guild, creator)
        for gained in gains:
            post = make_post(
                guild,
                profile,
                posted_at=now - timedelta(days=20),
                submitted_at=now - timedelta(days=20),
                metrics_updated_at=now - timedelta(minutes=1),
            )
            make_snapshot(post, views=1000, at=now - timedelta(days=15))
            make_snapshot(post, views=1000 + gained, at=now - timedelta(minutes=2))
        creators.append(creator)
    return creators


def fold_into_rollups(snapshot_ids: list[int]) -> None:
    """Ingestion's rollup upsert (metrics.rollups.upsert_rollups_sql) over these stored snapshots."""
    table = connection.ops.quote_name(VideoMetrics._meta.db_table)
    placeholders = ", ".join(["%s"] * len(snapshot_ids))
    source = f'(SELECT * FROM {table} WHERE "id" IN ({placeholders})) r'
    with connection.cursor() as cursor:
        cursor.execute(upsert_rollups_sql(source), snapshot_ids)


@factory
def make_bonus_rule(guild: Guild, **kw) -> BonusRule:
    defaults = {
        "guild": guild,
        "name": f"Rule {_n()}",
        "kind": BonusRule.Kind.THRESHOLD,
        "min_views_gained": 10_000,
        "amount": 25,
    }
    return BonusRule.objects.create(**{**defaults, **kw})
