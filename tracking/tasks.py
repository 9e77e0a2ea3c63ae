"""Celery tasks of the tracking app: thin shells around services; ids in, idempotent, retried.

The periodic jobs (PERIODIC_JOBS) are created in django-celery-beat by migration
tracking/0004_beat_schedules and run in-process by ``manage.py track`` when there is no broker.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from celery import shared_task

from tracking.scheduling import run_refresh_cycle

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """A task run every ``seconds``; with ``at_minute``, beat runs it hourly at that minute (crontab),
    so an hourly job sees every local hour of every guild exactly once."""

    name: str
    task: str
    seconds: int
    at_minute: int | None = None


# Keep in step with the beat_schedules migration (a test checks both say the same).
PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("Plan metric refreshes", "tracking.tasks.plan_refreshes", 5 * 60),
    PeriodicJob("Expire stale Apify runs", "integrations.tasks.expire_runs", 10 * 60),
    PeriodicJob("Send daily reports", "integrations.discord.tasks.send_daily_reports", 60 * 60, at_minute=0),
    PeriodicJob("Award weekly bonuses", "integrations.discord.tasks.award_weekly_bonuses", 60 * 60, at_minute=0),
    PeriodicJob("Retry bot callbacks", "integrations.discord.tasks.deliver_bot_callbacks", 60),
    PeriodicJob("Send Discord notifications", "integrations.discord.tasks.send_notifications", 60),
)


@shared_task(name="tracking.tasks.plan_refreshes", acks_late=True, ignore_result=True)
def plan_refreshes(guild_id: int | None = None) -> dict:
    """One refresh-planning cycle (all active guilds, or one). Safe to run twice or concurrently:
    posts are claimed compare-and-set before any run starts (tracking.scheduling.run_refresh_cycle)."""
    report = run_refresh_cycle(guild_id=guild_id)
    return {"runs": report.runs_started, "youtube_calls": report.youtube_calls, "posts": report.posts_sent}
