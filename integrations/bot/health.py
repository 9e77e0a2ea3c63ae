"""Reading the bot's heartbeat: a bot that has gone quiet is offline, and staff hear of it once.

The bot posts a heartbeat (POST /api/v1/bot/heartbeat or a ``bot.heartbeat`` callback) every
minute or so; BOT_HEARTBEAT_STALE_SECONDS without one marks BotHealth offline and sends one staff
alert (SECURITY_ALERT_WEBHOOK_URL) — not one per check: the status change is the event. The next
heartbeat marks it online again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.utils import timezone

from dashboard_auth.alerts import send_staff_alert
from guilds.models import BotHealth
from integrations.discord.messages import Embed

log = structlog.get_logger(__name__)

RED = 0xE74C3C


def heartbeat_age(health: BotHealth, now: datetime | None = None) -> timedelta | None:
    """Time since the last heartbeat, or None when the bot never sent one."""
    if health.last_heartbeat_at is None:
        return None
    return (now or timezone.now()) - health.last_heartbeat_at


@dataclass(frozen=True)
class BotStatus:
    """What the dashboard says about the bot: ``state`` is online, degraded, offline or unknown (never
    heard from); ``age`` is the time since its last heartbeat."""

    state: str
    last_heartbeat_at: datetime | None
    age: timedelta | None


def bot_status(*, now: datetime | None = None) -> BotStatus:
    """The bot's status from its heartbeat, read-only: a heartbeat older than
    BOT_HEARTBEAT_STALE_SECONDS is offline even before check_bot_health has recorded it."""
    health = BotHealth.objects.filter(pk=1).first()
    if health is None or health.last_heartbeat_at is None:
        return BotStatus(BotHealth.Status.UNKNOWN, None, None)
    age = heartbeat_age(health, now)
    if age > timedelta(seconds=settings.BOT_HEARTBEAT_STALE_SECONDS):
        state = BotHealth.Status.OFFLINE
    elif health.status == BotHealth.Status.DEGRADED:
        state = BotHealth.Status.DEGRADED
    else:
        state = BotHealth.Status.ONLINE
    return BotStatus(state, health.last_heartbeat_at, age)


def check_bot_health(*, now: datetime | None = None) -> str:
    """Mark the bot offline when its heartbeat is stale (one alert on the change). Returns the status."""
    now = now or timezone.now()
    health = BotHealth.load()
    age = heartbeat_age(health, now)
    stale = age is not None and age > timedelta(seconds=settings.BOT_HEARTBEAT_STALE_SECONDS)
    if not stale or health.status == BotHealth.Status.OFFLINE:
        return health.status
    changed = (
        BotHealth.objects.filter(pk=1, last_heartbeat_at=health.last_heartbeat_at)
        .exclude(status=BotHealth.Status.OFFLINE)
        .update(status=BotHealth.Status.OFFLINE, updated_at=now)
    )
    if changed:  # one process wins the change, and only it tells staff
        minutes = int(age.total_seconds() // 60)
        log.error("bot_offline", last_heartbeat_at=health.last_heartbeat_at.isoformat(), minutes_silent=minutes)
        send_staff_alert(
            embed=Embed(
                title="The Discord bot is offline",
                description=f"No heartbeat for {minutes} minutes (last at {health.last_heartbeat_at:%Y-%m-%d %H:%M} "
                "UTC). Slash commands and callbacks to the bot may be failing; check the bot process.",
                color=RED,
                timestamp=now,
            )
        )
    return BotHealth.Status.OFFLINE
