"""Celery tasks of collection, reports and bonuses: they take ids, call one service, own the retries.

Idempotent: processing a run that is no longer ``initiated`` does nothing; a cycle claims its posts
compare-and-set; reports and bonuses are written once per guild and period.
"""

from __future__ import annotations

import random

import structlog
from celery import shared_task

from integrations.apify.runs import load_run
from integrations.discord.notifier import send_pending_notifications
from integrations.errors import IntegrationError
from integrations.verification import fail_expired_verification, process_verification_run
from metrics import bonuses, captions, collection, reports

log = structlog.get_logger(__name__)

MAX_RETRIES = 6


def _countdown(retries: int, hint: float | None) -> float:
    """Exponential backoff with jitter (30 s, 60 s, 120 s ...), or the vendor's Retry-After."""
    base = 30 * (2**retries)
    return max(hint or 0, base) + random.uniform(0, base / 4)


def _process(task, service, registry_id: int):
    try:
        return service(registry_id=registry_id)
    except IntegrationError as exc:
        if not exc.permanent and task.request.retries < MAX_RETRIES and not task.request.is_eager:
            raise task.retry(exc=exc, countdown=_countdown(task.request.retries, exc.retry_after)) from None
        run = load_run(registry_id)
        log.warning("apify_run_processing_failed", run=registry_id, error=exc.message, permanent=exc.permanent)
        if run is not None:
            collection.mark_run_failed(run=run, reason=f"Could not read the run from Apify: {exc.message}")
            if run.purpose == run.Purpose.VERIFICATION:
                fail_expired_verification(run=run)
        return None


@shared_task(name="metrics.tasks.process_apify_run", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def process_apify_run(self, registry_id: int) -> None:
    """Fetch a finished metrics run from Apify and store its dataset."""
    _process(self, collection.process_metrics_run, registry_id)


@shared_task(name="metrics.tasks.process_verification_run", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def process_verification_run_task(self, registry_id: int) -> None:
    """Fetch a finished profile-verification run from Apify and decide the profile."""
    _process(self, process_verification_run, registry_id)


@shared_task(name="metrics.tasks.plan_refreshes", acks_late=True, ignore_result=True)
def plan_refreshes(guild_id: int | None = None) -> dict:
    """One refresh-planning cycle (all active guilds, or one). Safe to run twice or concurrently:
    posts are claimed compare-and-set before any run starts (metrics.collection.run_refresh_cycle)."""
    report = collection.run_refresh_cycle(guild_id=guild_id)
    return {"runs": report.runs_started, "youtube_calls": report.youtube_calls, "posts": report.posts_sent}


@shared_task(name="metrics.tasks.expire_runs", acks_late=True)
def expire_runs() -> int:
    """Runs past expires_at that never called back become expired."""
    return collection.expire_runs()


@shared_task(name="metrics.tasks.send_daily_reports", acks_late=True)
def send_daily_reports(guild_id: int | None = None) -> dict[str, int]:
    """Queue the daily report of every guild whose local report hour has come, then send them."""
    outcomes = reports.queue_daily_reports(guild_id=guild_id)
    queued = sum(1 for o in outcomes if o.status == "queued")
    if queued:  # send now rather than at the notifier's next run
        send_pending_notifications(guild_id=guild_id)
    return {"queued": queued}


@shared_task(name="metrics.tasks.award_weekly_bonuses", acks_late=True)
def award_weekly_bonuses(guild_id: int | None = None) -> dict[str, int]:
    """Award and announce every guild's bonuses for its last complete week."""
    outcomes = bonuses.award_weekly_bonuses(guild_id=guild_id)
    created, announced = sum(o.created for o in outcomes), sum(o.announced for o in outcomes)
    if announced:
        send_pending_notifications(guild_id=guild_id)
    return {"created": created, "announced": announced}


@shared_task(name="metrics.tasks.check_captions", acks_late=True, ignore_result=True)
def check_captions(guild_id: int | None = None) -> dict[str, int]:
    """Check the scraped captions not checked yet (a net under the checks that follow each ingest)."""
    summary = captions.check_due_captions(guild_id=guild_id)
    return {"checked": summary.checked, "failed": summary.failed, "openai_calls": summary.openai_calls}
