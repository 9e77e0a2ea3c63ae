"""The periodic jobs: what beat schedules (django-celery-beat rows, created by migration) and what
``manage.py track`` runs in-process when there is no broker. Tasks are named, not imported: both
find them in Celery's task registry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    """A task run every ``seconds``; with ``at_minute``, beat runs it hourly at that minute (crontab),
    so an hourly job sees every local hour of every guild exactly once. ``track_seconds``: how often
    ``manage.py track`` runs it when it differs (without a broker, track is the webhooks' processor)."""

    name: str
    task: str
    seconds: int
    at_minute: int | None = None
    track_seconds: int | None = None


PLAN_REFRESHES = "metrics.tasks.plan_refreshes"

# Keep in step with the beat schedule migrations (a test checks they say the same).
PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("Plan metric refreshes", PLAN_REFRESHES, 5 * 60),
    PeriodicJob("Process webhook deliveries", "metrics.tasks.process_due_deliveries", 30, track_seconds=5),
    PeriodicJob("Reconcile Apify runs", "metrics.tasks.reconcile_runs", 60),
    PeriodicJob("Send daily reports", "metrics.tasks.send_daily_reports", 60 * 60, at_minute=0),
    PeriodicJob("Award weekly bonuses", "metrics.tasks.award_weekly_bonuses", 60 * 60, at_minute=0),
    PeriodicJob("Retry bot callbacks", "integrations.bot.tasks.deliver_bot_callbacks", 60),
    PeriodicJob("Send Discord notifications", "integrations.discord.tasks.send_notifications", 60),
    PeriodicJob("Send creator messages", "integrations.discord.tasks.send_creator_messages", 60),
    PeriodicJob("Check captions", "metrics.tasks.check_captions", 60),
    PeriodicJob("Check bot health", "integrations.bot.tasks.check_bot_health", 60),
    PeriodicJob("Purge old records", "tracking.tasks.purge", 24 * 60 * 60),
    PeriodicJob("Settle money", "earnings.tasks.settle_money", 15 * 60),
)
