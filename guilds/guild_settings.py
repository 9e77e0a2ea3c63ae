"""A guild's settings that admins change: channels, webhooks, time zone, daily report hour and the
fraud checks' thresholds (metrics.fraud)."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from core.snowflakes import is_snowflake
from core.values import FieldsRefused, json_safe, whole_number
from guilds.audit import record_audit
from guilds.models import FRAUD_THRESHOLD_DEFAULTS, FRAUD_THRESHOLD_RANGES, Guild

GUILD_SETTINGS_FIELDS: tuple[str, ...] = (
    "logs_channel_id",
    "updates_channel_id",
    "logs_webhook_url",
    "updates_webhook_url",
    "timezone",
    "daily_report_hour",
    *FRAUD_THRESHOLD_DEFAULTS,
)
FRAUD_THRESHOLD_FIELDS: tuple[str, ...] = tuple(FRAUD_THRESHOLD_DEFAULTS)
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


def _percent(value: Any, *, low: Decimal, high: Decimal) -> Decimal:
    """A percentage (``0.2``, ``"0.2"``, ``"0.2 %"``) as a Decimal with at most 2 decimals, in
    low..high; a ``low`` above 0 is said "above 0" (0.01 is the smallest step)."""
    above_zero = low > 0
    message = (
        f"Must be a percentage {'above 0' if above_zero else 'from 0'} to {high}, with at most 2 decimals, like 0.5."
    )
    if isinstance(value, bool) or value is None:
        raise ValueError(message)
    try:
        number = Decimal(str(value).strip().removesuffix("%").strip())
    except InvalidOperation:
        raise ValueError(message) from None
    if not number.is_finite() or number < 0 or number > high or number != number.quantize(Decimal("0.01")):
        raise ValueError(message)
    if above_zero and number == 0:
        raise ValueError(f"0 % would never flag a spike. {message}")
    if number < low:
        raise ValueError(message)
    return number.quantize(Decimal("0.01"))


def _threshold(name: str) -> Callable[[Any], Any]:
    low, high = FRAUD_THRESHOLD_RANGES[name]
    if isinstance(low, Decimal):
        return lambda value: _percent(value, low=low, high=high)
    return lambda value: whole_number(value, low=low, high=high)


_SETTINGS_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "logs_channel_id": _channel_id,
    "updates_channel_id": _channel_id,
    "logs_webhook_url": _webhook_url,
    "updates_webhook_url": _webhook_url,
    "timezone": _timezone_name,
    "daily_report_hour": lambda v: whole_number(v, low=0, high=23),
    # Ranges in guilds.models.FRAUD_THRESHOLD_RANGES: a spike needs views gained to be about; a drop
    # allowance of 0 (any drop) is a strict, valid choice, but a drop of 100 % or more can never happen,
    # so it would switch the check off unnoticed.
    **{name: _threshold(name) for name in FRAUD_THRESHOLD_DEFAULTS},
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
