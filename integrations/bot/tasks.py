"""Celery task delivering the bot callback outbox (run every minute by beat and by manage.py track)."""

from __future__ import annotations

from celery import shared_task

from integrations.bot.callbacks import deliver_due_callbacks


@shared_task(name="integrations.bot.tasks.deliver_bot_callbacks", acks_late=True)
def deliver_bot_callbacks() -> dict[str, int]:
    """Deliver due bot callbacks (retries with backoff are rows' next_attempt_at, not task retries)."""

    s = deliver_due_callbacks()
    return {"delivered": s.delivered, "retrying": s.retrying, "failed": s.failed, "expired": s.expired}
