"""A guild's API budgets: what it may spend, spending it so that concurrent workers can never
overspend, giving back what was never used, and the budget settings admins edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from guilds.audit import record_audit
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
    updated = GuildApiUsage.objects.filter(guild_id=guild_id, day=day, **{f"{counter}__lte": limit - amount}).update(
        **{counter: F(counter) + amount}
    )
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


# ------------------------------------------------------------------------------------------------
# Budget settings: one set of rules for the dashboard form and the API
# ------------------------------------------------------------------------------------------------

# Bounds keep a typo from ordering a million Apify runs; intervals must grow from young to dormant.
BUDGET_BOUNDS: dict[str, tuple[int, int]] = {
    "daily_apify_run_limit": (0, 10_000),
    "daily_youtube_quota_units": (0, 1_000_000),
    "weekly_openai_call_limit": (0, 100_000),
    "apify_max_items_per_run": (1, 1_000),
    "young_post_hours": (1, 24 * 30),
    "young_interval_minutes": (5, 24 * 60),
    "growing_interval_minutes": (5, 7 * 24 * 60),
    "flat_interval_hours": (1, 24 * 30),
    "dormant_interval_hours": (1, 24 * 90),
    "max_backoff_hours": (1, 24 * 30),
}
BUDGET_FIELDS: tuple[str, ...] = tuple(BUDGET_BOUNDS)
# (faster interval, its minutes per unit, slower interval, its minutes per unit)
_CADENCE_ORDER = (
    ("young_interval_minutes", 1, "growing_interval_minutes", 1),
    ("growing_interval_minutes", 1, "flat_interval_hours", 60),
    ("flat_interval_hours", 60, "dormant_interval_hours", 60),
)


class BudgetRefused(ValueError):
    """Budget values out of bounds or out of order. ``fields`` maps each field to its message."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def budget_problems(*, values: dict[str, int]) -> dict[str, str]:
    """What is wrong with a complete set of budget values (empty when nothing)."""
    problems = {}
    for name, (low, high) in BUDGET_BOUNDS.items():
        value = values.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems[name] = f"Must be a whole number from {low:,} to {high:,}."
    for faster, f_unit, slower, s_unit in _CADENCE_ORDER:
        if faster in problems or slower in problems:
            continue
        if values[faster] * f_unit > values[slower] * s_unit:
            problems[slower] = f"Must not be shorter than {faster.replace('_', ' ')}."
    return problems


@transaction.atomic
def update_budget_config(
    *, budget: GuildBudgetConfig, changes: dict[str, int], actor: str, actor_user=None, request=None
) -> list[str]:
    """Apply ``changes`` to the guild's budget and audit the changed fields (before/after).

    Raises BudgetRefused (nothing written) when the result would be out of bounds or out of order.
    Returns the changed field names; no change → nothing written or audited. The caller checks that
    the actor may administer the guild."""
    before = {name: getattr(budget, name) for name in BUDGET_FIELDS}
    unknown = set(changes) - set(BUDGET_FIELDS)
    if unknown:
        raise BudgetRefused({name: "Not a budget setting." for name in sorted(unknown)})
    problems = budget_problems(values={**before, **changes})
    if problems:
        raise BudgetRefused(problems)
    changed = [name for name in BUDGET_FIELDS if name in changes and changes[name] != before[name]]
    if not changed:
        return []
    for name in changed:
        setattr(budget, name, changes[name])
    budget.save(update_fields=[*changed, "updated_at"])
    record_audit(
        guild_id=budget.guild_id,
        actor=actor,
        actor_user=actor_user,
        action="budget.update",
        target_type="guild_budget_config",
        target_id=budget.guild_id,
        before={name: before[name] for name in changed},
        after={name: changes[name] for name in changed},
        request=request,
    )
    return changed
