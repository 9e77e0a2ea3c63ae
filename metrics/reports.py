"""Daily reports to each guild's updates channel, at the guild's local morning, once per local day.

A guild's report is due when its local hour (Guild.timezone) has reached Guild.daily_report_hour and
Guild.last_daily_report_on is not today (local). The report covers *yesterday* in the guild's time
zone: views gained (metrics.selectors.leaderboard — the dashboard's number), the top posts and
creators, new submissions, and yesterday's API budget use (budgets count UTC days). It is queued as
a GuildNotification on the updates channel (event key ``daily_report:<day>``, so it is told once)
in the same transaction that sets ``last_daily_report_on``; the notifier sends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from guilds.budgets import budget_for, usage_day
from guilds.models import Guild, GuildApiUsage, GuildNotification
from guilds.notifications import notify
from metrics.periods import period_bounds
from metrics.selectors import CreatorGain, PostGain, leaderboard
from tracking.models import Post


@dataclass(frozen=True)
class BudgetUse:
    day: date  # the UTC day the counters belong to
    apify_runs: int
    apify_limit: int
    youtube_units: int
    youtube_limit: int
    openai_calls: int
    openai_week_calls: int
    openai_week_limit: int


@dataclass(frozen=True)
class DailyReport:
    """What one guild's daily report says. ``day`` is the local day it covers."""

    guild_id: int
    day: date
    start: datetime
    end: datetime
    views_gained: int
    new_submissions: int
    top_posts: list[PostGain]
    top_creators: list[CreatorGain]
    budget: BudgetUse

    @property
    def title(self) -> str:
        return f"Daily report — {self.day:%A %d %B %Y}"

    @property
    def body(self) -> str:
        lines = [f"**Views gained:** {self.views_gained:,}", f"**New submissions:** {self.new_submissions:,}", ""]
        lines.append("**Top posts**")
        lines += [
            f"{i}. [{p.platform} · {p.client_account}]({p.url}) by {p.creator_name} — +{p.views_gained:,}"
            for i, p in enumerate(self.top_posts, 1)
        ] or ["No views gained."]
        lines += ["", "**Top creators**"]
        lines += [
            f"{c.rank}. {c.creator_name} — +{c.views_gained:,} ({c.posts} post{'s' if c.posts != 1 else ''})"
            for c in self.top_creators
        ] or ["No views gained."]
        b = self.budget
        lines += [
            "",
            f"**Budget use** (UTC day {b.day:%Y-%m-%d})",
            f"Apify runs {b.apify_runs}/{b.apify_limit} · YouTube units {b.youtube_units}/{b.youtube_limit} · "
            f"OpenAI calls {b.openai_calls} (last 7 days {b.openai_week_calls}/{b.openai_week_limit})",
        ]
        return "\n".join(lines)


@dataclass
class ReportOutcome:
    guild_id: int
    status: str  # queued | not_due | already_sent | already_queued | dry_run
    report: DailyReport | None = None
    detail: str = field(default="")


def report_due(*, guild: Guild, now: datetime) -> bool:
    """The guild's local hour has reached its report hour and today's report has not gone out."""
    local = now.astimezone(guild.tz)
    return local.hour >= guild.daily_report_hour and guild.last_daily_report_on != local.date()


def build_daily_report(*, guild: Guild, now: datetime, top_n: int | None = None) -> DailyReport:
    """The report of the local day before ``now``. Call inside ``guild_scope(guild.pk)``."""
    top_n = top_n or settings.DAILY_REPORT_TOP_N
    start, end = period_bounds(period="yesterday", now=now, tz=guild.tz)
    board = leaderboard(guild=guild, start=start, end=end)
    new = Post.objects.for_guild(guild).filter(submitted_at__gte=start, submitted_at__lt=end).count()
    return DailyReport(
        guild_id=guild.pk,
        day=start.date(),
        start=start,
        end=end,
        views_gained=board.total_views_gained,
        new_submissions=new,
        top_posts=[p for p in board.posts if p.views_gained > 0][:top_n],
        top_creators=[c for c in board.creators if c.views_gained > 0][:top_n],
        budget=_budget_use(guild, usage_day(now) - timedelta(days=1)),
    )


def _budget_use(guild: Guild, day: date) -> BudgetUse:
    budget = budget_for(guild)
    usage = GuildApiUsage.objects.for_guild(guild)
    row = usage.filter(day=day).first()
    week = usage.filter(day__gt=day - timedelta(days=7), day__lte=day).aggregate(n=Sum("openai_call_count"))["n"]
    return BudgetUse(
        day=day,
        apify_runs=row.apify_run_count if row else 0,
        apify_limit=budget.daily_apify_run_limit,
        youtube_units=row.youtube_quota_used if row else 0,
        youtube_limit=budget.daily_youtube_quota_units,
        openai_calls=row.openai_call_count if row else 0,
        openai_week_calls=week or 0,
        openai_week_limit=budget.weekly_openai_call_limit,
    )


def queue_daily_report(
    *, guild_id: int, now: datetime | None = None, force: bool = False, dry_run: bool = False
) -> ReportOutcome:
    """Queue the guild's daily report if it is due (``force``: even if not due or already sent).

    Idempotent: the guild row is locked and ``last_daily_report_on`` set in the same transaction as
    the notification, so two schedulers cannot both queue it. ``dry_run`` builds it and writes nothing.
    """
    now = now or timezone.now()
    with guild_scope(guild_id), transaction.atomic():
        guild = Guild.objects.select_for_update().get(pk=guild_id)
        local_today = now.astimezone(guild.tz).date()
        if not force and not report_due(guild=guild, now=now):
            if guild.last_daily_report_on != local_today:
                return ReportOutcome(guild_id, "not_due")
            return _queued_state(guild, now)
        report = build_daily_report(guild=guild, now=now)
        if dry_run:
            return ReportOutcome(guild_id, "dry_run", report)
        key = f"daily_report:{report.day:%Y-%m-%d}" + (f":forced:{int(now.timestamp())}" if force else "")
        notify(
            guild_id=guild_id,
            kind="daily_report",
            event_key=key,
            title=report.title,
            body=report.body,
            channel="updates",
        )
        guild.last_daily_report_on = local_today
        guild.save(update_fields=["last_daily_report_on", "updated_at"])
        return ReportOutcome(guild_id, "queued", report)


def _queued_state(guild: Guild, now: datetime) -> ReportOutcome:
    """Today's report was queued: say whether it was really sent, and if not, why not."""
    day = period_bounds(period="yesterday", now=now, tz=guild.tz)[0].date()
    row = (
        GuildNotification.objects.for_guild(guild)
        .filter(kind="daily_report", event_key__startswith=f"daily_report:{day:%Y-%m-%d}")
        .order_by("-created_at")
        .first()
    )
    if row is not None and row.status == GuildNotification.Status.SENT:
        return ReportOutcome(guild.pk, "already_sent")
    if row is None or row.status == GuildNotification.Status.DROPPED:
        detail = "not sent: no Discord destination was set when it was queued (rerun with --force to queue it again)"
    elif row.status == GuildNotification.Status.FAILED:
        detail = f"not sent: Discord refused it ({row.last_error or 'no reason given'})"
    else:
        detail = f"queued, not sent yet: {row.last_error or 'waiting for the notifier'}"
    return ReportOutcome(guild.pk, "already_queued", detail=detail)


def queue_daily_reports(
    *, now: datetime | None = None, guild_id: int | None = None, force: bool = False, dry_run: bool = False
) -> list[ReportOutcome]:
    """Queue the report of every active guild whose local morning has come (or of one guild)."""
    now = now or timezone.now()
    return [queue_daily_report(guild_id=g, now=now, force=force, dry_run=dry_run) for g in active_guild_ids(guild_id)]


def active_guild_ids(guild_id: int | None = None) -> list[int]:
    """Active guild ids (cross-guild: a logged bypass). ``guild_id`` narrows it to that guild."""
    with rls_bypass(reason="scheduler: list active guilds"):
        guilds = Guild.objects.filter(active=True)
        if guild_id is not None:
            guilds = guilds.filter(pk=guild_id)
        return list(guilds.order_by("pk").values_list("pk", flat=True))
