"""Celery tasks for Apify runs: they take a registry id, call one service, and own the retries.

Queued with ``transaction.on_commit`` by the webhook view (integrations.services.accept_apify_delivery);
with no broker (CELERY_TASK_ALWAYS_EAGER) they run in-process. Idempotent: processing a run that is no
longer ``initiated`` does nothing.
"""

from __future__ import annotations

import random

import structlog
from celery import shared_task

from integrations.errors import IntegrationError

log = structlog.get_logger(__name__)

MAX_RETRIES = 6


def _countdown(retries: int, hint: float | None) -> float:
    """Exponential backoff with jitter (30 s, 60 s, 120 s ...), or the vendor's Retry-After."""
    base = 30 * (2**retries)
    return max(hint or 0, base) + random.uniform(0, base / 4)


def _run(task, service, registry_id: int):
    from integrations.services import load_run, mark_run_failed

    try:
        return service(registry_id=registry_id)
    except IntegrationError as exc:
        if not exc.permanent and task.request.retries < MAX_RETRIES and not task.request.is_eager:
            raise task.retry(exc=exc, countdown=_countdown(task.request.retries, exc.retry_after)) from None
        run = load_run(registry_id)
        log.warning("apify_run_processing_failed", run=registry_id, error=exc.message, permanent=exc.permanent)
        if run is not None and run.purpose == run.Purpose.METRICS:
            mark_run_failed(run=run, reason=f"Could not read the run from Apify: {exc.message}")
        elif run is not None:
            from integrations.verification_runs import fail_expired_verification

            mark_run_failed(run=run, reason=f"Could not read the run from Apify: {exc.message}")
            fail_expired_verification(run=run)
        return None


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def process_apify_run(self, registry_id: int) -> None:
    """Fetch a finished metrics run from Apify and store its dataset."""
    from integrations.services import process_metrics_run

    _run(self, process_metrics_run, registry_id)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def process_verification_run(self, registry_id: int) -> None:
    """Fetch a finished profile-verification run from Apify and decide the profile."""
    from integrations.verification_runs import process_verification_run as service

    _run(self, service, registry_id)


@shared_task(name="integrations.tasks.expire_runs", acks_late=True)
def expire_runs() -> int:
    """Beat: runs past expires_at that never called back become expired."""
    from integrations import services

    return services.expire_runs()
