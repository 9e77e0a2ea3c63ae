"""Celery tasks of the project itself (not of one app)."""

from __future__ import annotations

from celery import shared_task

from tracking import retention


@shared_task(name="tracking.tasks.purge", acks_late=True, ignore_result=True)
def purge() -> dict[str, int]:
    """Delete the traffic records retention no longer keeps (tracking.retention)."""
    return retention.purge()
