"""Reads that shape the dashboard pages. Every number of views gained comes from
``metrics.selectors.leaderboard`` (THE number shared with the API, the CSV, reports and bonuses);
this module only arranges it per page. Each function runs a constant number of queries, whatever the
guild's size, and must be called inside the guild's scope (the pages run in GuildScopeMiddleware's).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, DateTimeField, F, FloatField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual

from core.values import post_title
from guilds.budgets import budget_for, remaining_budget, usage_day
from guilds.models import Creator, Guild, GuildApiUsage, GuildBudgetConfig
from metrics.periods import PERIODS as ALL_PERIODS
from metrics.periods import period_bounds
from metrics.selectors import LeaderboardPage, leaderboard_page, total_gains
from tracking.cadence import Cadence
from tracking.models import ClientAccount, Post, Profile
from tracking.platforms import registry
from tracking.post_urls import PostUrlError, parse_post_url

# The dashboard offers every named period but "all time" (its leaderboard is per period).
PERIODS = {key: label for key, label in ALL_PERIODS.items() if key != "all"}
CHART_DAYS = 30


@dataclass(frozen=True)
class PeriodChange:
    """Views gained in a period so far, and in the same stretch of the period before."""

    label: str
    gained: int
    previous: int
    previous_label: str

    @property
    def change_pct(self) -> float | None:
        if not self.previous:
            return None
        return round((self.gained - self.previous) / self.previous * 100, 1)

    @property
    def direction(self) -> str:
        return "up" if self.gained > self.previous else "down" if self.gained < self.previous else "flat"


_SHIFT = {"day": timedelta(days=1), "week": timedelta(days=7)}
# The stretches compared with today and this week end at ``now`` rounded down to this step: a past
# stretch is read from the snapshots post by post (the slowest read of the page), so it is computed
# once per step and cached (DASHBOARD_CHART_CACHE_SECONDS), and its label says where it ends.
COMPARE_STEP = timedelta(minutes=5)


def _step_down(now: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)  # 5 minutes divide every UTC offset: a local :00/:05 too
    return now - (now - epoch) % COMPARE_STEP


def period_changes(*, guild: Guild, now: datetime, top: int = 5) -> tuple[PeriodChange, PeriodChange, LeaderboardPage]:
    """The overview's cards: today so far against yesterday until this time, this week so far
    against last week until this time, and the ``top`` creators and posts of this week's leaderboard
    (with its total) — two queries in all: the week's leaderboard page, and one bulk query for today
    (and both comparisons when they are not cached).

    The comparisons end at ``now`` rounded down to COMPARE_STEP (their labels name that time in the
    guild's zone) and are cached for DASHBOARD_CHART_CACHE_SECONDS (default 300; 0 = off), like the
    chart's finished days: past numbers only move when a post is rejected or re-counted."""
    day_start, _ = period_bounds(period="day", now=now, tz=guild.tz)
    week_start, week_end = period_bounds(period="week", now=now, tz=guild.tz)
    board = leaderboard_page(guild=guild, start=week_start, end=week_end, page=1, page_size=top)
    at = _step_down(now)
    day, week = _SHIFT["day"], _SHIFT["week"]
    compared = [(day_start - day, at - day), (week_start - week, at - week)]
    ttl = getattr(settings, "DASHBOARD_CHART_CACHE_SECONDS", 300)
    key = f"dashboard:compared:{guild.pk}:{guild.created_at.timestamp():.6f}:" + ":".join(
        f"{s.isoformat()}/{e.isoformat()}" for s, e in compared
    )
    previous = cache.get(key) if ttl else None
    if previous is None:
        today, *previous = total_gains(guild=guild, windows=[(day_start, now), *compared])
        if ttl:
            cache.set(key, previous, ttl)
    else:
        (today,) = total_gains(guild=guild, windows=[(day_start, now)])
    yesterday, last_week = previous
    local = at.astimezone(guild.tz)
    return (
        PeriodChange("Today", today, yesterday, f"yesterday until {local:%H:%M}"),
        PeriodChange("This week", board.total_views_gained, last_week, f"last week until {local:%a %H:%M}"),
        board,
    )


CHART_CHUNK_DAYS = 10  # past days computed per query when the chart is cold (and cached at once)


def daily_gains(
    *, guild: Guild, now: datetime, days: int = CHART_DAYS, today_gained: int | None = None
) -> list[tuple[str, int]]:
    """Views gained per guild-local day for the last ``days`` days (today so far last): each bar is
    exactly the leaderboard's total for that day (metrics.selectors.total_gains).

    Past days are read from the cache; missing ones are computed CHART_CHUNK_DAYS per query and each
    chunk is cached as soon as it is computed, so a slow cold chart still makes progress from one
    request to the next. Cached for DASHBOARD_CHART_CACHE_SECONDS (default 300; 0 = off): past
    numbers only move when a post is rejected or re-counted. ``today_gained``: today's total when the
    caller already has it.
    """
    today, _ = period_bounds(period="day", now=now, tz=guild.tz)
    # Aware arithmetic with a ZoneInfo is wall-clock arithmetic: local midnights, DST-safe.
    starts = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    ttl = getattr(settings, "DASHBOARD_CHART_CACHE_SECONDS", 300)
    # created_at in the key: a guild removed and added again never sees its old numbers.
    prefix = f"dashboard:daily-gain:{guild.pk}:{guild.created_at.timestamp():.6f}"
    keys = {start: f"{prefix}:{start.isoformat()}" for start in starts[:-1]}
    known: dict[str, int] = cache.get_many(list(keys.values())) if ttl else {}
    missing = [start for start in starts[:-1] if keys[start] not in known]
    for i in range(0, len(missing), CHART_CHUNK_DAYS):
        chunk = missing[i : i + CHART_CHUNK_DAYS]
        gains = total_gains(guild=guild, windows=[(start, start + timedelta(days=1)) for start in chunk])
        fresh = {keys[start]: gained for start, gained in zip(chunk, gains, strict=True)}
        if ttl:
            cache.set_many(fresh, ttl)
        known.update(fresh)
    if today_gained is None:
        (today_gained,) = total_gains(guild=guild, windows=[(today, now)])
    series = [(start.date().isoformat(), known[keys[start]]) for start in starts[:-1]]
    return series + [(today.date().isoformat(), today_gained)]


@dataclass(frozen=True)
class BudgetLine:
    """One daily budget: today's use against the limit, and the month's forecast."""

    name: str
    unit: str
    daily_limit: int
    used_today: int
    used_month: int
    forecast_month: int
    limit_month: int

    @property
    def forecast_pct(self) -> int:
        return round(self.forecast_month / self.limit_month * 100) if self.limit_month else 0

    @property
    def over(self) -> bool:
        return self.forecast_month > self.limit_month

    @property
    def warn_at(self) -> int:
        """Where a meter turns amber (75 % of the daily limit) and red (90 %)."""
        return round(self.daily_limit * 0.75)

    @property
    def danger_at(self) -> int:
        return round(self.daily_limit * 0.9)


@dataclass(frozen=True)
class BudgetSummary:
    lines: list[BudgetLine]
    openai_limit_week: int
    openai_used_week: int
    days_in_month: int
    day_of_month: int


def guild_budget(guild: Guild) -> GuildBudgetConfig:
    """The guild's budget row: the one loaded with the guild when there is one (no query)."""
    try:
        return guild.budget
    except GuildBudgetConfig.DoesNotExist:
        return budget_for(guild)


def budget_summary(*, guild: Guild, now: datetime) -> BudgetSummary:
    """Budget used against its limit today, and the month so far extrapolated to month end against
    daily limit × days in the month. Budgets reset at midnight UTC, so the month is the UTC month."""
    config = guild_budget(guild)
    remaining = remaining_budget(guild=guild, now=now)
    today = usage_day(now)
    month_start = today.replace(day=1)
    month = GuildApiUsage.objects.for_guild(guild).filter(day__gte=month_start, day__lte=today)
    totals = month.aggregate(apify=Sum("apify_run_count"), youtube=Sum("youtube_quota_used"))
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    start_utc = datetime(month_start.year, month_start.month, 1, tzinfo=UTC)
    elapsed_days = max((now - start_utc).total_seconds() / 86400, 1 / 24)  # at least an hour: no wild forecasts

    def line(name: str, unit: str, limit: int, left: int, used_month: int | None) -> BudgetLine:
        used_month = used_month or 0
        forecast = round(used_month / elapsed_days * days_in_month)
        return BudgetLine(name, unit, limit, limit - left, used_month, forecast, limit * days_in_month)

    lines = [
        line("Apify runs", "runs", config.daily_apify_run_limit, remaining.apify_runs, totals["apify"]),
        line("YouTube quota", "units", config.daily_youtube_quota_units, remaining.youtube_units, totals["youtube"]),
    ]
    used_week = config.weekly_openai_call_limit - remaining.openai_calls_this_week
    return BudgetSummary(lines, config.weekly_openai_call_limit, used_week, days_in_month, today.day)


def recent_usage(*, guild: Guild, now: datetime, days: int = 14) -> list[GuildApiUsage]:
    return list(GuildApiUsage.objects.for_guild(guild).filter(day__gt=usage_day(now) - timedelta(days=days)))


@dataclass(frozen=True)
class Freshness:
    fresh: int
    tracked: int

    @property
    def pct(self) -> int | None:
        return round(self.fresh / self.tracked * 100) if self.tracked else None


def freshness(*, guild: Guild, now: datetime, budget: GuildBudgetConfig | None = None) -> Freshness:
    """The share of tracked posts (refreshable, inside their counting window) measured within their
    expected interval: fresh when ``metrics_updated_at >= now - refresh_interval`` — the scheduler's
    own cadence for the post (tracking.cadence.classify) with the guild's GuildBudgetConfig
    intervals, written as SQL: one aggregate query, no post loaded into Python.

    ``rate >= r`` is ``max(growth, 0) >= r × max(views, floor)`` (the floor is positive). A post never
    measured ("new") has no metrics_updated_at and so is never fresh, whatever its interval.
    """
    c = Cadence.of(budget or guild_budget(guild))
    went_up = Coalesce("posted_at", "submitted_at")
    basis = Greatest(Coalesce("views", 0), Value(c.views_floor), output_field=FloatField())
    growth = Greatest("growth_per_hour", Value(0.0), output_field=FloatField())
    since = Case(  # measured at or after this moment = fresh
        When(
            GreaterThan(went_up, Value(now - timedelta(hours=c.young_post_hours)))
            | GreaterThanOrEqual(growth, basis * c.hot_rate),
            then=Value(now - timedelta(minutes=c.young_interval_minutes)),
        ),
        When(
            GreaterThanOrEqual(growth, basis * c.growing_rate),
            then=Value(now - timedelta(minutes=c.growing_interval_minutes)),
        ),
        When(GreaterThanOrEqual(growth, basis * c.flat_rate), then=Value(now - timedelta(hours=c.flat_interval_hours))),
        default=Value(now - timedelta(hours=c.dormant_interval_hours)),
        output_field=DateTimeField(),
    )
    counts = (
        Post.objects.for_guild(guild)
        .filter(status__in=Post.REFRESHABLE)
        .filter(Q(counting_ends_at__isnull=True) | Q(counting_ends_at__gt=now))
        .aggregate(tracked=Count("pk"), fresh=Count("pk", filter=GreaterThanOrEqual(F("metrics_updated_at"), since)))
    )
    return Freshness(counts["fresh"], counts["tracked"])


# --- posts ------------------------------------------------------------------------------------


def search_posts(
    *,
    guild: Guild,
    status: str = "",
    platform: str = "",
    creator_id: int | None = None,
    client_account_id: int | None = None,
    q: str = "",
    sort: str = "",
) -> QuerySet[Post]:
    """The guild's posts, newest first, filtered. ``q`` is a post link (matched by platform and post id,
    or its canonical URL for short links) or text (caption, URL, creator or author handle)."""
    posts = Post.objects.for_guild(guild).select_related("creator", "client_account")
    if status:
        posts = posts.filter(status=status)
    if platform:
        posts = posts.filter(platform=platform)
    if creator_id:
        posts = posts.filter(creator_id=creator_id)
    if client_account_id:
        posts = posts.filter(client_account_id=client_account_id)
    q = q.strip()
    if q:
        # "@maya.clips" is how people write a handle: it finds what "maya.clips" finds
        posts = posts.filter(_search_filter(q.lstrip("@") if q.startswith("@") and " " not in q else q))
    key = POST_SORTS.get(sort.lstrip("-"), POST_SORTS["submitted"])
    desc = not sort or sort.startswith("-")
    return posts.order_by(f"{'-' if desc else ''}{key}", "-pk")


# ?sort= on the posts list: the only columns it may order by (a leading "-" is descending)
POST_SORTS = {"views": "views", "likes": "likes", "submitted": "submitted_at", "updated": "metrics_updated_at"}


def post_titles(*, guild: Guild, post_ids: list[int]) -> dict[int, str]:
    """``post_title`` of each post, in one query (for leaderboard rows, which carry no caption)."""
    rows = (
        Post.objects.for_guild(guild).filter(pk__in=post_ids).values_list("pk", "caption", "author_handle", "platform")
    )
    return {
        pk: post_title(caption=caption, author_handle=handle, platform_label=_label(platform))
        for pk, caption, handle, platform in rows
    }


def _label(platform: str) -> str:
    return registry.get(platform).label if registry.is_registered(platform) else platform


def _search_filter(q: str) -> Q:
    try:
        parsed = parse_post_url(q)
    except PostUrlError:
        parsed = None
    if parsed is not None:
        if parsed.external_id:
            return Q(platform=parsed.platform, external_id=parsed.external_id)
        return Q(canonical_url=parsed.canonical_url) | Q(submitted_url=q)
    return (
        Q(caption__icontains=q)
        | Q(canonical_url__icontains=q)
        | Q(creator__username__icontains=q)
        | Q(author_handle__icontains=q)
    )


def post_series(*, post: Post, limit: int = 2000) -> list[tuple[int, int | None, int | None]]:
    """The post's snapshots as (unix seconds, views, likes), oldest first: the newest ``limit``."""
    rows = list(
        post.snapshots.filter(guild_id=post.guild_id)
        .order_by("-captured_at")
        .values_list("captured_at", "views", "likes")[:limit]
    )
    return [(int(at.timestamp()), views, likes) for at, views, likes in reversed(rows)]


# --- creators and clients ------------------------------------------------------------------------


def creators_with_totals(*, guild: Guild) -> QuerySet[Creator]:
    """Creators with their post count, tracked-post count, latest total views and verified profiles."""
    return (
        Creator.objects.for_guild(guild)
        .annotate(
            post_count=Count("posts", distinct=True),
            tracking_count=Count("posts", filter=Q(posts__status__in=Post.REFRESHABLE), distinct=True),
            total_views=Sum("posts__views"),
        )
        .order_by("username", "pk")
    )


def profiles_by_creator(*, guild: Guild, creator_ids: list[int]) -> dict[int, list]:

    found: dict[int, list] = {}
    rows = Profile.objects.for_guild(guild).filter(creator_id__in=creator_ids).order_by("platform", "handle")
    for profile in rows:
        found.setdefault(profile.creator_id, []).append(profile)
    return found


def client_accounts_with_counts(*, guild: Guild) -> QuerySet[ClientAccount]:
    return (
        ClientAccount.objects.for_guild(guild)
        .annotate(
            post_count=Count("posts"),
            tracking_count=Count("posts", filter=Q(posts__status__in=Post.REFRESHABLE)),
            total_views=Sum("posts__views"),
        )
        .order_by("-active", "name")
    )
