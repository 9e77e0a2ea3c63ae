"""Writes about guilds: budgets that concurrent workers can never overspend, usage counters."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from core.snowflakes import is_snowflake
from core.values import FieldsRefused, flag, json_safe, money, whole_number
from guilds.models import BonusRule, Guild, GuildApiUsage, GuildBudgetConfig

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
    from dashboard_auth.services import record_audit

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


# ------------------------------------------------------------------------------------------------
# Guild settings: channels, webhooks, time zone, daily report hour
# ------------------------------------------------------------------------------------------------

GUILD_SETTINGS_FIELDS: tuple[str, ...] = (
    "logs_channel_id",
    "updates_channel_id",
    "logs_webhook_url",
    "updates_webhook_url",
    "timezone",
    "daily_report_hour",
)
WEBHOOK_FIELDS = frozenset({"logs_webhook_url", "updates_webhook_url"})
# A new channel or webhook gets a new chance: it clears the "Discord said it is gone" mark.
_GONE_FLAG = {
    "logs_channel_id": "logs_destination_gone_at",
    "logs_webhook_url": "logs_destination_gone_at",
    "updates_channel_id": "updates_destination_gone_at",
    "updates_webhook_url": "updates_destination_gone_at",
}
_WEBHOOK_URL = re.compile(r"https://discord\.com/api/webhooks/(\d{15,21})/([A-Za-z0-9_-]{20,100})")
_WEBHOOK_ID = re.compile(r"https://discord\.com/api/webhooks/(\d+)/")


class GuildSettingsRefused(FieldsRefused):
    """Guild settings we refuse (bad channel id, webhook URL, time zone or hour)."""


def mask_webhook_url(url: str) -> str:
    """A webhook URL without its secret token: ``https://discord.com/api/webhooks/123/***`` ("" stays "")."""
    if not url:
        return ""
    match = _WEBHOOK_ID.match(url)
    return f"https://discord.com/api/webhooks/{match.group(1)}/***" if match else "***"


def _channel_id(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if text and not is_snowflake(text):
        raise ValueError(
            "A Discord channel id is 15 to 19 digits (right-click the channel, Copy Channel ID), or blank."
        )
    return text


def _webhook_url(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if text and not _WEBHOOK_URL.fullmatch(text):
        raise ValueError(
            "Paste the webhook URL Discord shows (https://discord.com/api/webhooks/<id>/<token>), or leave it blank."
        )
    return text


def _timezone_name(value: Any) -> str:
    text = str(value or "").strip()
    if text not in _timezones():
        raise ValueError(f"{text[:64]!r} is not an IANA time zone such as Europe/Paris.")
    return text


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone_choices() -> list[str]:
    """The IANA time zone names, sorted (for the settings page's select)."""
    return sorted(_timezones())


_SETTINGS_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "logs_channel_id": _channel_id,
    "updates_channel_id": _channel_id,
    "logs_webhook_url": _webhook_url,
    "updates_webhook_url": _webhook_url,
    "timezone": _timezone_name,
    "daily_report_hour": lambda v: whole_number(v, low=0, high=23),
}


def clean_guild_settings(*, changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` normalised (ids and URLs stripped, the hour an int). Raises GuildSettingsRefused
    naming every bad field; a field that is not an editable setting is refused too."""
    problems = {name: "Not a guild setting you can change here." for name in changes if name not in _SETTINGS_CLEANERS}
    cleaned = {}
    for name, value in changes.items():
        if name in _SETTINGS_CLEANERS:
            try:
                cleaned[name] = _SETTINGS_CLEANERS[name](value)
            except ValueError as error:
                problems[name] = str(error)
    if problems:
        raise GuildSettingsRefused(problems)
    return cleaned


def _settings_json_safe(name: str, value: Any) -> Any:
    return mask_webhook_url(value) if name in WEBHOOK_FIELDS else json_safe(value)


@transaction.atomic
def update_guild_settings(
    *, guild: Guild, changes: dict[str, Any], actor: str, actor_user=None, request=None
) -> list[str]:
    """Apply ``changes`` (any of GUILD_SETTINGS_FIELDS) to ``guild`` and audit the changed fields.

    Blank clears a channel or webhook. Changing a channel or webhook clears the matching
    ``*_destination_gone_at`` mark. Webhook URLs are secrets: the audit entry holds them masked
    (mask_webhook_url). Returns the changed field names (no change: nothing written or audited).
    Raises GuildSettingsRefused (nothing written). The name belongs to Discord and is not editable.
    The caller checks that the actor may administer the guild and runs in the guild's scope."""
    from dashboard_auth.services import record_audit

    cleaned = clean_guild_settings(changes=changes)
    locked = Guild.objects.select_for_update().get(pk=guild.pk)
    changed = [name for name in GUILD_SETTINGS_FIELDS if name in cleaned and cleaned[name] != getattr(locked, name)]
    if not changed:
        return []
    flags = sorted({_GONE_FLAG[n] for n in changed if n in _GONE_FLAG and getattr(locked, _GONE_FLAG[n])})
    before = {n: _settings_json_safe(n, getattr(locked, n)) for n in [*changed, *flags]}
    for target in (locked, guild):
        for name in changed:
            setattr(target, name, cleaned[name])
        for name in flags:
            setattr(target, name, None)
    locked.save(update_fields=[*changed, *flags, "updated_at"])
    guild.updated_at = locked.updated_at
    record_audit(
        guild_id=guild.pk,
        actor=actor,
        actor_user=actor_user,
        action="guild.update",
        target_type="guild",
        target_id=guild.pk,
        before=before,
        after={n: _settings_json_safe(n, getattr(locked, n)) for n in [*changed, *flags]},
        request=request,
    )
    return changed


# ------------------------------------------------------------------------------------------------
# Bonus rules
# ------------------------------------------------------------------------------------------------

BONUS_RULE_FIELDS: tuple[str, ...] = ("name", "kind", "min_views_gained", "place", "amount", "currency", "active")
BONUS_TOP_PLACES = 100
_BONUS_DEFAULTS = {"currency": "USD", "active": True, "min_views_gained": None, "place": None}


class BonusRuleRefused(FieldsRefused):
    """A bonus rule we refuse to create, change or delete."""


def _rule_name(value: Any) -> str:
    text = " ".join(str(value or "").split())
    if not text or len(text) > 100:
        raise ValueError("Give the rule a name of 1 to 100 characters.")
    return text


def _rule_kind(value: Any) -> str:
    if value not in BonusRule.Kind.values:
        raise ValueError("Choose threshold (a view-gain threshold) or top_n (a place in the week's top N).")
    return value


def _currency(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) != 3 or not text.isascii() or not text.isalpha():
        raise ValueError("Use a three-letter currency code such as USD.")
    return text.upper()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _rule_kind_fields(values: dict[str, Any], problems: dict[str, str]) -> None:
    """threshold needs min_views_gained ≥ 1, top_n needs place 1..100; the other kind's field is cleared."""
    if values.get("kind") == BonusRule.Kind.THRESHOLD:
        values["place"] = None
        if _blank(values.get("min_views_gained")):
            problems["min_views_gained"] = "A threshold rule needs min_views_gained (at least 1 view)."
        else:
            _clean_into(values, problems, "min_views_gained", lambda v: whole_number(v, low=1, high=10**15))
    elif values.get("kind") == BonusRule.Kind.TOP_N:
        values["min_views_gained"] = None
        if _blank(values.get("place")):
            problems["place"] = "A top-N rule needs place (1 = first)."
        else:
            _clean_into(values, problems, "place", lambda v: whole_number(v, low=1, high=BONUS_TOP_PLACES))


def _clean_into(values: dict[str, Any], problems: dict[str, str], name: str, clean: Callable[[Any], Any]) -> None:
    try:
        values[name] = clean(values.get(name))
    except ValueError as error:
        problems[name] = str(error)


def clean_bonus_rule(*, guild_id: int, data: dict[str, Any], rule: BonusRule | None = None) -> dict[str, Any]:
    """The rule's complete, normalised values: ``data`` over the stored rule (or the defaults for a
    new one). Raises BonusRuleRefused naming every bad field, including a name another rule of the
    guild already has."""
    problems = {name: "Not a bonus rule field." for name in data if name not in BONUS_RULE_FIELDS}
    current = {n: getattr(rule, n) for n in BONUS_RULE_FIELDS} if rule else dict(_BONUS_DEFAULTS)
    values = {**current, **{k: v for k, v in data.items() if k in BONUS_RULE_FIELDS}}
    given = set(data) if rule is not None else set(BONUS_RULE_FIELDS)  # stored values stay as they are
    cleaners = {"name": _rule_name, "kind": _rule_kind, "amount": lambda v: money(v, high_digits=8)}
    for name, clean in {**cleaners, "currency": _currency, "active": flag}.items():
        if name not in values:
            problems[name] = "Required."
        elif name in given:
            _clean_into(values, problems, name, clean)
    _rule_kind_fields(values, problems)
    if "name" in given and "name" not in problems:
        clash = BonusRule.objects.for_guild(guild_id).filter(name=values["name"])
        if rule is not None:
            clash = clash.exclude(pk=rule.pk)
        if clash.exists():
            problems["name"] = "Another bonus rule already has this name."
    if problems:
        raise BonusRuleRefused(problems)
    return {n: values[n] for n in BONUS_RULE_FIELDS}


@transaction.atomic
def save_bonus_rule(
    *,
    guild_id: int,
    rule: BonusRule | None = None,
    data: dict[str, Any],
    actor: str,
    actor_user=None,
    request=None,
) -> BonusRule:
    """Create a bonus rule (``rule`` None) or change ``rule`` with ``data`` (a partial update), and
    audit it (bonus_rule.create with after; bonus_rule.update with before/after of the changed fields;
    no change: nothing written or audited). Raises BonusRuleRefused (nothing written). The caller
    checks that the actor may administer the guild and runs in the guild's scope."""
    from dashboard_auth.services import record_audit

    if rule is not None and rule.guild_id != guild_id:
        raise BonusRule.DoesNotExist("No such bonus rule in this guild.")
    values = clean_bonus_rule(guild_id=guild_id, data=data, rule=rule)
    if rule is None:
        try:
            with transaction.atomic():  # a concurrent twin with the same name: a message, not a 500
                rule = BonusRule.objects.create(guild_id=guild_id, **values)
        except IntegrityError:
            raise BonusRuleRefused({"name": "Another bonus rule already has this name."}) from None
        before, after = None, {n: json_safe(values[n]) for n in BONUS_RULE_FIELDS}
        action = "bonus_rule.create"
    else:
        changed = [n for n in BONUS_RULE_FIELDS if values[n] != getattr(rule, n)]
        if not changed:
            return rule
        before = {n: json_safe(getattr(rule, n)) for n in changed}
        for name in changed:
            setattr(rule, name, values[name])
        try:
            with transaction.atomic():
                rule.save(update_fields=changed)
        except IntegrityError:
            raise BonusRuleRefused({"name": "Another bonus rule already has this name."}) from None
        after = {n: json_safe(values[n]) for n in changed}
        action = "bonus_rule.update"
    record_audit(
        guild_id=guild_id,
        actor=actor,
        actor_user=actor_user,
        action=action,
        target_type="bonus_rule",
        target_id=rule.pk,
        before=before,
        after=after,
        request=request,
    )
    return rule


RULE_DEACTIVATED = "This rule has awards, so it was deactivated instead of deleted; its past awards are kept."


@transaction.atomic
def delete_bonus_rule(
    *, guild_id: int, rule: BonusRule, actor: str, actor_user=None, request=None
) -> Literal["deleted", "deactivated"]:
    """Delete ``rule``, or, when creators were awarded under it, deactivate it instead (awards keep
    their rule; RULE_DEACTIVATED says so to the user). Audited as bonus_rule.delete (before) or
    bonus_rule.deactivate (before/after of active). An inactive awarded rule stays as it is and
    nothing is written. The caller checks that the actor may administer the guild."""
    from dashboard_auth.services import record_audit
    from metrics.models import BonusAward

    if rule.guild_id != guild_id:
        raise BonusRule.DoesNotExist("No such bonus rule in this guild.")
    who = {"guild_id": guild_id, "actor": actor, "actor_user": actor_user, "request": request}
    if BonusAward.objects.for_guild(guild_id).filter(rule=rule).exists():
        if rule.active:
            rule.active = False
            rule.save(update_fields=["active"])
            record_audit(
                **who,
                action="bonus_rule.deactivate",
                target_type="bonus_rule",
                target_id=rule.pk,
                before={"active": True},
                after={"active": False},
            )
        return "deactivated"
    before = {n: json_safe(getattr(rule, n)) for n in BONUS_RULE_FIELDS}
    pk = rule.pk
    rule.delete()
    rule.pk = pk  # callers may still name it
    record_audit(**who, action="bonus_rule.delete", target_type="bonus_rule", target_id=pk, before=before)
    return "deleted"
