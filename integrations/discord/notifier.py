"""Sending the guild notification outbox (integrations.models.GuildNotification) to Discord.

Other code calls ``integrations.notifications.notify()``, which only writes a row. Here the pending
rows are grouped per (guild, channel) and sent as few messages as Discord allows: one embed per row,
up to 10 embeds and 6000 characters per message.

Destinations: the channel's webhook URL (``Guild.logs_webhook_url`` / ``updates_webhook_url``) when
set, else the channel id with the bot token. A destination Discord says is gone (Unknown Channel or
Webhook, Missing Access, 404) is marked on the guild (``*_destination_gone_at``). Rows with no
destination (none set, or the one set is gone) stay ``pending`` with the reason in ``last_error``
(``waiting``): they are sent when an admin sets a destination, and the dashboard says so. Staff
hear about it through a log line at error level and SECURITY_ALERT_WEBHOOK_URL (the broken channel
cannot carry the news). Transient failures (timeouts, 5xx, long 429s) leave rows pending with
``attempts`` + 1; after NOTIFY_MAX_ATTEMPTS they are ``failed`` with the last error.

No transaction is held open while Discord is called: rows are read in one guild-scoped transaction
and marked in another, and a short cache lock keeps two workers off the same (guild, channel).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from dashboard_auth.alerts import send_staff_alert
from guilds.models import Guild, GuildNotification
from integrations.discord.client import DestinationGone, DiscordClient, discord_client
from integrations.discord.messages import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    TITLE_LIMIT,
    Embed,
)
from integrations.errors import IntegrationError

log = structlog.get_logger(__name__)

N = GuildNotification
BATCH_LIMIT = 100  # rows per (guild, channel) per run; the rest waits for the next run
LOCK_SECONDS = 300
COLORS = {
    "submission": 0x3498DB,
    "verification": 0x2ECC71,
    "flagged": 0xE67E22,
    "run_failed": 0xE74C3C,
    "budget": 0xF1C40F,
    "daily_report": 0x9B59B6,
    "bonus": 0x1ABC9C,
}


@dataclass
class NotifySummary:
    """What one notifier run did, per status."""

    sent: int = 0
    waiting: int = 0  # pending, kept until the guild has a destination
    failed: int = 0
    retrying: int = 0
    messages: int = 0
    gone: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Destination:
    webhook_url: str = ""
    channel_id: str = ""

    def __bool__(self) -> bool:
        return bool(self.webhook_url or self.channel_id)


def destination_for(guild: Guild, channel: str) -> Destination:
    """Where ``channel`` messages of ``guild`` go; empty when none is set or it is marked gone."""
    if getattr(guild, f"{channel}_destination_gone_at"):
        return Destination()
    webhook = getattr(guild, f"{channel}_webhook_url")
    if webhook:
        return Destination(webhook_url=webhook)
    channel_id = getattr(guild, f"{channel}_channel_id")
    if channel_id and settings.DISCORD_BOT_TOKEN:
        return Destination(channel_id=channel_id)
    return Destination()


def send_pending_notifications(
    *, guild_id: int | None = None, client: DiscordClient | None = None, now: datetime | None = None
) -> NotifySummary:
    """Send every pending notification (of one guild, or all), grouped per (guild, channel).

    Idempotent and safe to run concurrently: a sent row is never sent again.
    """
    summary = NotifySummary()
    client = client or discord_client()
    for gid, channel in _pending_pairs(guild_id):
        if not cache.add(f"notify-lock:{gid}:{channel}", 1, timeout=LOCK_SECONDS):
            continue  # another worker is on it
        try:
            _send_pair(gid, channel, client=client, summary=summary, now=now or timezone.now())
        finally:
            cache.delete(f"notify-lock:{gid}:{channel}")
    return summary


def _pending_pairs(guild_id: int | None) -> list[tuple[int, str]]:
    with rls_bypass(reason="notifier: find pending notifications"):
        rows = N.objects.filter(status=N.Status.PENDING)
        if guild_id is not None:
            rows = rows.filter(guild_id=guild_id)
        return list(rows.values_list("guild_id", "channel").distinct().order_by("guild_id", "channel"))


def _send_pair(guild_id: int, channel: str, *, client: DiscordClient, summary: NotifySummary, now: datetime) -> None:
    with guild_scope(guild_id):
        guild = Guild.objects.get(pk=guild_id)
        rows = list(
            N.objects.for_guild(guild_id)
            .filter(status=N.Status.PENDING, channel=channel)
            .order_by("created_at", "pk")[:BATCH_LIMIT]
        )
        destination = destination_for(guild, channel)
        if not destination:
            summary.waiting += _wait(guild_id, channel, why=_why_none(guild, channel))
            return
    for batch in batches(rows):
        try:
            _deliver(client, destination, [embed_for(r) for r in batch])
        except DestinationGone as error:
            _destination_gone(guild, channel, error=error, now=now)
            summary.gone.append((guild_id, channel))
            summary.waiting += _wait(guild_id, channel, why=f"the {channel} destination is gone ({error.message})")
            return
        except IntegrationError as error:
            _failed_attempt(guild_id, batch, error=error, summary=summary)
            if not error.permanent:
                return  # Discord is unwell: the rest waits for the next run
            continue
        summary.messages += 1
        summary.sent += _mark(guild_id, [r.pk for r in batch], status=N.Status.SENT, now=now)


def batches(rows: Iterable[GuildNotification]) -> list[list[GuildNotification]]:
    """Rows split into messages of at most 10 embeds and 6000 embed characters."""
    out: list[list[GuildNotification]] = []
    size = 0
    for row in rows:
        chars = _embed_size(row)
        if not out or len(out[-1]) >= EMBEDS_PER_MESSAGE or size + chars > EMBED_TOTAL_LIMIT:
            out.append([])
            size = 0
        out[-1].append(row)
        size += chars
    return out


def embed_for(row: GuildNotification) -> Embed:
    return Embed(
        title=row.title,
        description=row.body,
        color=COLORS.get(row.kind),
        footer=row.kind.replace("_", " "),
        timestamp=row.created_at,
    )


def _embed_size(row: GuildNotification) -> int:
    # What the embed will count once cut to Discord's limits (title, description, footer).
    return min(len(row.title), TITLE_LIMIT) + min(len(row.body), DESCRIPTION_LIMIT) + len(row.kind)


def _deliver(client: DiscordClient, destination: Destination, embeds: list[Embed]) -> None:
    if destination.webhook_url:
        client.send_webhook_message(webhook_url=destination.webhook_url, embeds=embeds, username="Tracking Data")
    else:
        client.send_channel_message(channel_id=destination.channel_id, embeds=embeds)


def _mark(guild_id: int, ids: list[int], *, status: str, now: datetime | None = None, error: str = "") -> int:
    if not ids:
        return 0
    with guild_scope(guild_id):
        changes = {"status": status, "last_error": error[:300]}
        if status == N.Status.SENT:
            changes["sent_at"] = now or timezone.now()
        return N.objects.for_guild(guild_id).filter(pk__in=ids, status=N.Status.PENDING).update(**changes)


def _failed_attempt(guild_id: int, rows: list[GuildNotification], *, error: IntegrationError, summary) -> None:
    """attempts + 1 and the error; rows that reached NOTIFY_MAX_ATTEMPTS (or a permanent error) fail."""
    ids = [r.pk for r in rows]
    message = error.message[:300]
    with guild_scope(guild_id):
        mine = N.objects.for_guild(guild_id).filter(pk__in=ids, status=N.Status.PENDING)
        mine.update(attempts=F("attempts") + 1, last_error=message)
        give_up = mine.filter(attempts__gte=1 if error.permanent else settings.NOTIFY_MAX_ATTEMPTS)
        failed = give_up.update(status=N.Status.FAILED)
    summary.failed += failed
    summary.retrying += len(ids) - failed
    log.warning("notification_send_failed", guild_id=guild_id, rows=len(ids), failed=failed, error=message)


def _destination_gone(guild: Guild, channel: str, *, error: DestinationGone, now: datetime) -> None:
    with guild_scope(guild.pk):
        Guild.objects.filter(pk=guild.pk).update(**{f"{channel}_destination_gone_at": now})
    log.error(
        "discord_destination_gone", guild_id=guild.pk, channel=channel, code=error.code, error=error.message[:300]
    )
    send_staff_alert(
        embed=Embed(
            title=f"Discord {channel} channel of {guild.name} is gone",
            description=(
                f"Guild {guild.pk}: Discord refused the {channel} destination ({error.message[:300]}). "
                f"Its notifications wait until an admin sets a new {channel} channel or webhook."
            ),
            color=0xE74C3C,
            timestamp=now,
        )
    )


def _wait(guild_id: int, channel: str, *, why: str) -> int:
    """Keep the channel's pending rows pending, with the reason they wait; returns how many."""
    with guild_scope(guild_id):
        pending = N.objects.for_guild(guild_id).filter(status=N.Status.PENDING, channel=channel)
        return pending.update(last_error=why[:300])


def waiting_notifications(guild: Guild) -> list[tuple[str, int, str]]:
    """Per channel without a destination: (channel, notifications waiting for one, why). One query."""
    missing = {c: _why_none(guild, c) for c in N.Channel.values if not destination_for(guild, c)}
    if not missing:
        return []
    with guild_scope(guild.pk):
        counts = dict(
            N.objects.for_guild(guild.pk)
            .filter(status=N.Status.PENDING, channel__in=list(missing))
            .values_list("channel")
            .annotate(n=Count("pk"))
            .order_by()
        )
    return [(c, counts[c], why) for c, why in missing.items() if counts.get(c)]


def _why_none(guild: Guild, channel: str) -> str:
    if getattr(guild, f"{channel}_destination_gone_at"):
        return f"the {channel} destination is gone; set a new one"
    if getattr(guild, f"{channel}_channel_id") and not settings.DISCORD_BOT_TOKEN:
        return f"DISCORD_BOT_TOKEN is not set and there is no {channel} webhook"
    return f"no {channel} channel or webhook is configured"
