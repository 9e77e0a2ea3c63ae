"""Sending the creator message outbox (guilds.models.CreatorMessage) as private Discord messages.

``guilds.creator_messages.queue_creator_message`` writes a row in the transaction of the change;
here each due row is sent on its own: reserve (a short transaction pushes ``next_attempt_at`` out, so
a second worker skips the row) → open the DM channel and post (no transaction open) → record.

Outcomes: sent; ``failed`` at once when Discord refuses for good (50007: the creator does not accept
DMs from the bot; an unknown user); transient failures (timeouts, 5xx, long 429s) are retried with
exponential backoff and ``failed`` after NOTIFY_MAX_ATTEMPTS. Without DISCORD_BOT_TOKEN nothing is
called: rows stay ``pending`` with last_error "DISCORD_BOT_TOKEN is not set" and go once it is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from guilds.models import CreatorMessage
from integrations.discord.client import DiscordClient, discord_client
from integrations.discord.messages import Embed
from integrations.errors import IntegrationError

log = structlog.get_logger(__name__)

M = CreatorMessage
BATCH_LIMIT = 100  # rows per run; the rest waits for the next run
LEASE = timedelta(minutes=5)  # a reserved row is not picked again before this (a worker died mid-send)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
NO_TOKEN = "DISCORD_BOT_TOKEN is not set"
DMS_CLOSED = "50007"
COLORS = {M.Kind.FLAGGED: 0xE67E22, M.Kind.REJECTED: 0xE74C3C, M.Kind.APPROVED: 0x2ECC71}


@dataclass
class DirectMessageSummary:
    sent: int = 0
    waiting: int = 0  # pending because the bot token is not set
    failed: int = 0
    retrying: int = 0


def send_due_creator_messages(
    *, guild_id: int | None = None, client: DiscordClient | None = None, now: datetime | None = None
) -> DirectMessageSummary:
    """Send every due creator message (of one guild, or all). Idempotent; safe to run concurrently."""
    summary = DirectMessageSummary()
    now = now or timezone.now()
    if not settings.DISCORD_BOT_TOKEN:
        summary.waiting = _wait_for_token(guild_id)
        return summary
    client = client or discord_client()
    for gid, pk in _due(guild_id, now):
        row = _reserve(gid, pk, now)
        if row is None:
            continue  # another worker took it, or it is no longer due
        try:
            client.send_direct_message(user_id=row.discord_user_id, embeds=[embed_for(row)])
        except IntegrationError as error:
            _failed_attempt(row, error=error, now=now, summary=summary)
            continue
        _record_sent(row, now=now)
        summary.sent += 1
    return summary


def embed_for(row: CreatorMessage) -> Embed:
    return Embed(title=row.title, description=row.body, color=COLORS.get(row.kind), timestamp=row.created_at)


def _due(guild_id: int | None, now: datetime) -> list[tuple[int, int]]:
    with rls_bypass(reason="direct messages: find due creator messages"):
        rows = M.objects.filter(status=M.Status.PENDING, next_attempt_at__lte=now)
        if guild_id is not None:
            rows = rows.filter(guild_id=guild_id)
        return list(rows.order_by("next_attempt_at", "pk").values_list("guild_id", "pk")[:BATCH_LIMIT])


def _reserve(guild_id: int, pk: int, now: datetime) -> CreatorMessage | None:
    with guild_scope(guild_id), transaction.atomic():
        taken = (
            M.objects.for_guild(guild_id)
            .filter(pk=pk, status=M.Status.PENDING, next_attempt_at__lte=now)
            .update(next_attempt_at=now + LEASE)
        )
        return M.objects.for_guild(guild_id).get(pk=pk) if taken else None


def _record_sent(row: CreatorMessage, *, now: datetime) -> None:
    with guild_scope(row.guild_id):
        M.objects.for_guild(row.guild_id).filter(pk=row.pk, status=M.Status.PENDING).update(
            status=M.Status.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""
        )


def _failed_attempt(row: CreatorMessage, *, error: IntegrationError, now: datetime, summary) -> None:
    attempts = row.attempts + 1
    message = _reason(error)[:300]
    give_up = error.permanent or attempts >= settings.NOTIFY_MAX_ATTEMPTS
    changes = {"attempts": attempts, "last_error": message}
    if give_up:
        changes["status"] = M.Status.FAILED
        summary.failed += 1
    else:
        wait = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_MAX)
        if error.retry_after:
            wait = max(wait, timedelta(seconds=error.retry_after))
        changes["next_attempt_at"] = now + wait
        summary.retrying += 1
    with guild_scope(row.guild_id):
        M.objects.for_guild(row.guild_id).filter(pk=row.pk, status=M.Status.PENDING).update(**changes)
    log.warning("creator_message_failed", guild_id=row.guild_id, message_id=row.pk, gave_up=give_up, error=message)


def _reason(error: IntegrationError) -> str:
    if error.code == DMS_CLOSED:
        return f"the creator does not accept direct messages from the bot ({error.message})"
    return error.message


def _wait_for_token(guild_id: int | None) -> int:
    with rls_bypass(reason="direct messages: no bot token"):
        rows = M.objects.filter(status=M.Status.PENDING)
        if guild_id is not None:
            rows = rows.filter(guild_id=guild_id)
        return rows.update(last_error=NO_TOKEN)
