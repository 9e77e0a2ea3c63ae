"""Celery task delivering the bot callback outbox (run every minute by beat and by manage.py track)."""

from __future__ import annotations

from celery import shared_task

from integrations.bot import health
from integrations.bot.callbacks import deliver_due_callbacks


@shared_task(name="integrations.bot.tasks.deliver_bot_callbacks", acks_late=True)
def deliver_bot_callbacks() -> dict[str, int]:
    """Deliver due bot callbacks (retries with backoff are rows' next_attempt_at, not task retries)."""

    s = deliver_due_callbacks()
    return {"delivered": s.delivered, "retrying": s.retrying, "failed": s.failed, "expired": s.expired}


@shared_task(name="integrations.bot.tasks.check_bot_health", acks_late=True, ignore_result=True)
def check_bot_health() -> str:
    """A bot whose heartbeat went stale is marked offline (one staff alert)."""
    return health.check_bot_health()
