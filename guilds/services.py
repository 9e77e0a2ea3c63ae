"""Writes about guilds: budgets that concurrent workers can never overspend, usage counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from guilds.models import Guild, GuildApiUsage, GuildBudgetConfig

log = structlog.get_logger(__name__)

BudgetKind = Literal["apify_runs", "youtube_units", "openai_calls"]
_COUNTER = {"apify_runs": "apify_run_count", "youtube_units": "youtube_quota_used", "openai_calls": "openai_call_count"}
_DAILY_LIMIT = {"apify_runs": "daily_apify_run_limit", "youtube_units": "daily_youtube_quota_units"}


def usage_day(now: datetime | None = None) -> date:
    """Budgets reset at midnight UTC (YouTube's own quota resets at midnight Pacific; see youtube)."""
    return (now or timezone.now()).astimezone(UTC).date()


def budget_for(guild: Guild | int) -> GuildBudgetConfig:
    """The guild's budget row, created with defaults the first time it is needed."""
    guild_id = getattr(guild, "pk", guild)
    return GuildBudgetConfig.objects.get_or_create(guild_id=guild_id)[0]


def _usage_row(guild_id: int, day: date) -> None:
    """Make sure today's usage row exists (two workers may race to create it: both are fine)."""
    if GuildApiUsage.objects.filter(guild_id=guild_id, day=day).exists():
        return
    try:
        with transaction.atomic():
            GuildApiUsage.objects.create(guild_id=guild_id, day=day)
    except IntegrityError:
        pass


def debit_budget(*, guild: Guild | int, kind: BudgetKind, amount: int = 1, now: datetime | None = None) -> bool:
    """Spend ``amount`` of the guild's budget if it is there. True when spent, False when not enough.

    Daily budgets use one conditional UPDATE (``counter + amount <= limit``): the database decides,
    so two workers can never overspend, whatever the isolation level. The weekly OpenAI budget locks
    the guild's budget row while it sums the last seven days.
    """
    guild_id = getattr(guild, "pk", guild)
    day = usage_day(now)
    budget = budget_for(guild_id)
    _usage_row(guild_id, day)
    counter = _COUNTER[kind]
    if kind == "openai_calls":
        return _debit_weekly_openai(guild_id, day, amount)
    limit = getattr(budget, _DAILY_LIMIT[kind])
    updated = GuildApiUsage.objects.filter(
        guild_id=guild_id, day=day, **{f"{counter}__lte": limit - amount}
    ).update(**{counter: F(counter) + amount})
    if not updated:
        log.info("budget_exhausted", guild_id=guild_id, kind=kind, limit=limit, asked=amount)
    return bool(updated)


@transaction.atomic
def _debit_weekly_openai(guild_id: int, day: date, amount: int) -> bool:
    budget = GuildBudgetConfig.objects.select_for_update().get(guild_id=guild_id)
    used = (
        GuildApiUsage.objects.filter(guild_id=guild_id, day__gt=day - timedelta(days=7), day__lte=day).aggregate(
            n=Sum("openai_call_count")
        )["n"]
        or 0
    )
    if used + amount > budget.weekly_openai_call_limit:
        log.info("budget_exhausted", guild_id=guild_id, kind="openai_calls", limit=budget.weekly_openai_call_limit)
        return False
    GuildApiUsage.objects.filter(guild_id=guild_id, day=day).update(openai_call_count=F("openai_call_count") + amount)
    return True


def record_usage(*, guild: Guild | int, now: datetime | None = None, **increments: int) -> None:
    """Add to today's counters without a limit (tokens used, runs skipped for lack of budget)."""
    guild_id = getattr(guild, "pk", guild)
    day = usage_day(now)
    _usage_row(guild_id, day)
    GuildApiUsage.objects.filter(guild_id=guild_id, day=day).update(
        **{name: F(name) + value for name, value in increments.items()}
    )


@dataclass(frozen=True)
class Remaining:
    apify_runs: int
    youtube_units: int
    openai_calls_this_week: int


def remaining_budget(*, guild: Guild | int, now: datetime | None = None) -> Remaining:
    """What the guild can still spend today (and this week, for OpenAI)."""
    guild_id = getattr(guild, "pk", guild)
    day = usage_day(now)
    budget = budget_for(guild_id)
    today = GuildApiUsage.objects.filter(guild_id=guild_id, day=day).first()
    week_calls = (
        GuildApiUsage.objects.filter(guild_id=guild_id, day__gt=day - timedelta(days=7), day__lte=day).aggregate(
            n=Sum("openai_call_count")
        )["n"]
        or 0
    )
    return Remaining(
        apify_runs=max(0, budget.daily_apify_run_limit - (today.apify_run_count if today else 0)),
        youtube_units=max(0, budget.daily_youtube_quota_units - (today.youtube_quota_used if today else 0)),
        openai_calls_this_week=max(0, budget.weekly_openai_call_limit - week_calls),
    )
