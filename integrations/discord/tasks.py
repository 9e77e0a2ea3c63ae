"""Celery tasks for Discord: notifications and deferred slash commands.

Each task only calls a service (which is idempotent) and is safe to run on a schedule:

| task | suggested schedule |
| --- | --- |
| integrations.discord.tasks.send_notifications | every minute |
| integrations.discord.tasks.send_creator_messages | every minute |
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import shared_task

from integrations.discord.commands import complete_deferred
from integrations.discord.direct_messages import send_due_creator_messages
from integrations.discord.notifier import send_pending_notifications

log = structlog.get_logger(__name__)


@shared_task(name="integrations.discord.tasks.send_notifications", acks_late=True)
def send_notifications(guild_id: int | None = None) -> dict[str, int]:
    """Send pending guild notifications, grouped per (guild, channel)."""

    summary = send_pending_notifications(guild_id=guild_id)
    return {
        "sent": summary.sent,
        "waiting": summary.waiting,
        "failed": summary.failed,
        "retrying": summary.retrying,
        "messages": summary.messages,
    }


@shared_task(name="integrations.discord.tasks.send_creator_messages", acks_late=True)
def send_creator_messages(guild_id: int | None = None) -> dict[str, int]:
    """Send due private messages to creators about their posts (flagged, rejected, approved)."""

    summary = send_due_creator_messages(guild_id=guild_id)
    return {"sent": summary.sent, "waiting": summary.waiting, "failed": summary.failed, "retrying": summary.retrying}


# The interaction token is what lets us answer the user; it lives 15 minutes, so this task is not
# retried: a late answer is worse than the error message the command already logged.
@shared_task(name="integrations.discord.tasks.complete_interaction", acks_late=False)
def complete_interaction(interaction: dict[str, Any]) -> None:
    """Finish a deferred slash command (/verify, /submit) and edit its "thinking…" response."""

    complete_deferred(interaction)
