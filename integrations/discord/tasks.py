"""Celery tasks for Discord: notifications, bot callbacks, deferred commands.

Each task only calls a service (which is idempotent) and is safe to run on a schedule:

| task | suggested schedule |
| --- | --- |
| integrations.discord.tasks.send_notifications | every minute |
| integrations.discord.tasks.deliver_bot_callbacks | every minute (and right after a callback is queued) |
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import shared_task

log = structlog.get_logger(__name__)


@shared_task(name="integrations.discord.tasks.send_notifications", acks_late=True)
def send_notifications(guild_id: int | None = None) -> dict[str, int]:
    """Send pending guild notifications, grouped per (guild, channel)."""
    from integrations.discord.notifier import send_pending_notifications

    summary = send_pending_notifications(guild_id=guild_id)
    return {
        "sent": summary.sent,
        "dropped": summary.dropped,
        "failed": summary.failed,
        "retrying": summary.retrying,
        "messages": summary.messages,
    }


@shared_task(name="integrations.discord.tasks.deliver_bot_callbacks", acks_late=True)
def deliver_bot_callbacks() -> dict[str, int]:
    """Deliver due bot callbacks (retries with backoff are rows' next_attempt_at, not task retries)."""
    from integrations.callbacks import deliver_due_callbacks

    s = deliver_due_callbacks()
    return {"delivered": s.delivered, "retrying": s.retrying, "failed": s.failed, "expired": s.expired}


# The interaction token is what lets us answer the user; it lives 15 minutes, so this task is not
# retried: a late answer is worse than the error message the command already logged.
@shared_task(name="integrations.discord.tasks.complete_interaction", acks_late=False)
def complete_interaction(interaction: dict[str, Any]) -> None:
    """Finish a deferred slash command (/verify, /submit) and edit its "thinking…" response."""
    from integrations.discord.commands import complete_deferred

    complete_deferred(interaction)
