"""Celery tasks about money: they call one service (earnings.services) and are idempotent."""

from __future__ import annotations

from celery import shared_task

from earnings import services
from integrations.discord.notifier import send_pending_notifications


@shared_task(name="earnings.tasks.settle_money", acks_late=True, ignore_result=True)
def settle_money(guild_id: int | None = None) -> dict[str, int]:
    """Finalize posts past their counting and validation windows; alert and pause on budget burn."""
    summary = services.settle_money(guild_id=guild_id)
    send_pending_notifications(guild_id=guild_id)
    return summary
