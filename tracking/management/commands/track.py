"""`manage.py track`: the periodic jobs in-process, for installs without a Celery broker."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import structlog
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from tracking.celery import app
from tracking.jobs import PERIODIC_JOBS, PLAN_REFRESHES, PeriodicJob

log = structlog.get_logger(__name__)
_said_missing: set[str] = set()


def resolve_task(name: str) -> Any | None:
    """The Celery task registered as ``name`` (the app autodiscovers every app's tasks module), or
    None — said once — when no task has that name (a typo in a schedule row, say)."""
    app.loader.import_default_modules()
    task = app.tasks.get(name)
    if task is None and name not in _said_missing:
        _said_missing.add(name)
        log.warning("periodic_task_missing", task=name, hint="skipped: no Celery task has this name")
    return task


def run_job(job: PeriodicJob) -> str | None:
    """Run one job in this process (``task.apply``: the task's own code, retries included).
    Returns None when it ran (or is not there yet), else a one-line reason it failed."""
    task = resolve_task(job.task)
    if task is None:
        return None
    _fresh_connections()
    try:
        result = task.apply(throw=False) if hasattr(task, "apply") else task()
    except Exception as exc:  # a plain function (not a task) raised
        return f"{job.task} failed: {exc.__class__.__name__}: {exc}"
    finally:
        _fresh_connections()
    if getattr(result, "failed", lambda: False)():
        return f"{job.task} failed: {result.result.__class__.__name__}: {result.result}"
    return None


def _fresh_connections() -> None:
    """Drop broken or expired connections between jobs, as Django does between requests (never inside
    a transaction, e.g. under a test)."""
    if not connection.in_atomic_block:
        close_old_connections()


class Command(BaseCommand):
    help = (
        "Run the background jobs in this process, for installs without a Celery broker: refresh planning "
        "every --interval seconds; accepted Apify webhooks every 5 seconds (without a broker this command is "
        "what processes them); run reconciliation, caption checks, daily reports, weekly bonuses, bot "
        "callbacks and Discord notifications on their own schedules (the same tasks beat runs). Jobs whose "
        "task is not registered are skipped (said once in the log). Ctrl-C or SIGTERM stops cleanly after the job in "
        "progress. Exits non-zero with the reason when --once and a job fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Run every job once, then exit (non-zero if one failed)."
        )
        parser.add_argument(
            "--interval",
            type=int,
            default=settings.SCHEDULER_CYCLE_SECONDS,
            metavar="SECONDS",
            help="Seconds between refresh-planning cycles (default SCHEDULER_CYCLE_SECONDS, %(default)s). "
            "The other jobs keep their own periods (1 to 60 minutes).",
        )

    def handle(self, *args: Any, once: bool, interval: int, **options: Any) -> None:
        if interval < 1:
            raise CommandError("--interval must be at least 1 second.")
        if once:
            failures = [reason for job in PERIODIC_JOBS if (reason := run_job(job))]
            if failures:
                raise CommandError("; ".join(failures))
            self.stdout.write(f"Ran {len(PERIODIC_JOBS)} jobs once.")
            return
        if settings.CELERY_BROKER_URL:
            self.stderr.write("Note: a Celery broker is configured; beat and workers usually run these jobs.")
        stop = threading.Event()
        self._on_signals(stop)
        self.stdout.write(f"Tracking: planning refreshes every {interval}s. Ctrl-C stops.")
        self.loop(stop=stop, interval=interval)
        self.stdout.write("Stopped.")

    @staticmethod
    def _on_signals(stop: threading.Event) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())

    def loop(self, *, stop: threading.Event, interval: int, clock=time.monotonic) -> None:
        """Run each job when its period has passed (refresh planning: ``interval``) until ``stop``."""
        periods = {
            job.task: (interval if job.task == PLAN_REFRESHES else job.track_seconds or job.seconds)
            for job in PERIODIC_JOBS
        }
        last_run: dict[str, float] = {}
        while not stop.is_set():
            for job in PERIODIC_JOBS:
                if stop.is_set():
                    break
                if clock() - last_run.get(job.task, -float("inf")) >= periods[job.task]:
                    last_run[job.task] = clock()
                    if reason := run_job(job):
                        log.error("periodic_job_failed", task=job.task, reason=reason)
            stop.wait(min(5.0, min(periods.values())))
