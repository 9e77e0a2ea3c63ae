"""After the start: accepted webhooks processed durably, and every run we pay for reconciled with
what Apify really did, with no operator.

    process_delivery(id)         claim an accepted webhook delivery, process its run, mark it done;
                                 a transient error puts it back with a backoff, too many fail it
    process_due_deliveries()     the sweeper: deliveries due (new, backed off, or held by a process
                                 that died — its lease ran out), whoever accepted them
    reconcile_runs()             starts whose outcome is unknown: found at Apify by their input, or
                                 failed with the real reason (refunded only when nothing ran);
                                 runs that never reported back: asked, then ingested, extended or
                                 failed with Apify's reason

Recovery needs nobody: with a broker the webhook's own task processes at once and the sweeper
(every WEBHOOK_DELIVERY_SWEEP_SECONDS in beat) takes over what a dead worker dropped once its lease
(WEBHOOK_DELIVERY_LEASE_SECONDS) is over; without one ``manage.py track`` runs the sweeper every few
seconds and is the processor. Processing is idempotent (a run that is no longer ``initiated`` is
left alone), so a delivery processed twice stores nothing twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from integrations.apify.client import RunInfo
from integrations.apify.runs import (
    adopt_duplicate_run,
    apify_client,
    extend_run,
    find_started_runs,
    load_run,
    mark_checked,
    record_run_started,
    record_start_refused,
    start_settled,
)
from integrations.errors import IntegrationError
from integrations.models import ApifyRunRegistry, WebhookDelivery
from integrations.verification import fail_expired_verification, process_verification_run
from metrics.collection import mark_run_failed, process_metrics_run
from tracking.lifecycle import record_refresh_failures

log = structlog.get_logger(__name__)

Run = ApifyRunRegistry
State = WebhookDelivery.State


# ------------------------------------------------------------------------------------------------
# Deliveries
# ------------------------------------------------------------------------------------------------


def _due(now: datetime) -> Q:
    """To process and due, or held by a processor whose lease is over (it died or hangs)."""
    return Q(state=State.TO_PROCESS, next_attempt_at__lte=now) | Q(state=State.PROCESSING, lease_until__lt=now)


def _claim(delivery_id: int, now: datetime, *, due_only: bool) -> WebhookDelivery | None:
    """Take the delivery for processing (``processing`` until the lease ends). None when it is not
    there to take: done, failed, held by a live processor, or (``due_only``) backed off."""
    claimable = _due(now) if due_only else (Q(state=State.TO_PROCESS) | Q(state=State.PROCESSING, lease_until__lt=now))
    with transaction.atomic():
        row = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(claimable, pk=delivery_id, run__isnull=False)
            .first()
        )
        if row is None:
            return None
        row.state, row.attempts = State.PROCESSING, row.attempts + 1
        row.lease_until = now + timedelta(seconds=settings.WEBHOOK_DELIVERY_LEASE_SECONDS)
        row.save(update_fields=["state", "attempts", "lease_until"])
    return row


def process_delivery(*, delivery_id: int, now: datetime | None = None, due_only: bool = False) -> str:
    """Process one accepted delivery. Returns "done", "retrying", "failed" or "skipped" (nothing to
    take). Never raises for a vendor problem; a bug is retried like a transient error, then failed."""
    now = now or timezone.now()
    row = _claim(delivery_id, now, due_only=due_only)
    if row is None:
        return "skipped"
    run = load_run(row.run_id)
    try:
        if run is not None and run.purpose == Run.Purpose.METRICS:
            process_metrics_run(registry_id=run.pk)
        elif run is not None:
            process_verification_run(registry_id=run.pk)
    except IntegrationError as exc:
        return _failed_attempt(row, run, exc.message, permanent=exc.permanent, hint=exc.retry_after, now=now)
    except Exception as exc:  # noqa: BLE001 - a bug must not lose a paid run: retried, then failed with the reason
        log.exception("webhook_delivery_crashed", delivery=row.pk, run=row.run_id)
        return _failed_attempt(row, run, f"{type(exc).__name__}: {exc}"[:300], permanent=False, hint=None, now=now)
    _set_state(row, State.DONE, processed_at=timezone.now(), last_error="")
    return "done"


def _failed_attempt(row, run, message: str, *, permanent: bool, hint: float | None, now: datetime) -> str:
    if not permanent and row.attempts < settings.WEBHOOK_DELIVERY_MAX_ATTEMPTS:
        wait = max(hint or 0, delivery_backoff(row.attempts))
        _set_state(row, State.TO_PROCESS, next_attempt_at=now + timedelta(seconds=wait), last_error=message[:500])
        log.warning("webhook_delivery_retrying", delivery=row.pk, run=row.run_id, attempt=row.attempts, error=message)
        return "retrying"
    _set_state(row, State.FAILED, processed_at=timezone.now(), last_error=message[:500])
    if run is not None:
        tries = f"after {row.attempts} attempts" if not permanent else "(Apify refused)"
        mark_run_failed(run=run, reason=f"Could not read the run from Apify {tries}: {message}")
        if run.purpose == Run.Purpose.VERIFICATION:
            fail_expired_verification(run=run)
    return "failed"


def _set_state(row: WebhookDelivery, state: str, **changes) -> None:
    WebhookDelivery.objects.filter(pk=row.pk, state=State.PROCESSING).update(state=state, lease_until=None, **changes)


def delivery_backoff(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: 30, 60, 120 ... capped at 30 minutes, with jitter."""
    base = min(30 * 2 ** max(0, attempts - 1), 1800)
    return base * (1 + 0.2 * random.random())  # noqa: S311 - jitter, not a secret


@dataclass
class SweepSummary:
    done: int = 0
    retrying: int = 0
    failed: int = 0


def process_due_deliveries(*, now: datetime | None = None, limit: int = 50) -> SweepSummary:
    """The sweeper: process the deliveries that are due, whoever accepted them."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(_due(now), run__isnull=False)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    summary = SweepSummary()
    for delivery_id in ids:
        outcome = process_delivery(delivery_id=delivery_id, now=now, due_only=True)
        if outcome in ("done", "retrying", "failed"):
            setattr(summary, outcome, getattr(summary, outcome) + 1)
    if ids:
        log.info("webhook_deliveries_swept", due=len(ids), done=summary.done, retrying=summary.retrying)
    return summary


# ------------------------------------------------------------------------------------------------
# Reconciliation
# ------------------------------------------------------------------------------------------------


@dataclass
class ReconcileSummary:
    adopted: int = 0
    refunded: int = 0
    polled: int = 0
    extended: int = 0
    failed: int = 0


def reconcile_runs(*, now: datetime | None = None, limit: int = 100) -> ReconcileSummary:
    """Find out what Apify did with starts we could not confirm and with runs that went quiet."""
    now = now or timezone.now()
    summary = ReconcileSummary()
    with rls_bypass(reason="reconcile apify runs"):
        starting = list(Run.objects.filter(status=Run.Status.STARTING).order_by("created_at")[:limit])
        quiet = list(_quiet_runs(now)[:limit])
    for run in starting:
        if start_settled(run, now):
            _reconcile_start(run, now, summary)
    for run in quiet:
        _poll(run, now, summary)
    return summary


def _quiet_runs(now: datetime):
    """Runs Apify should have finished by now (or that expire) whose webhook we have not got."""
    poll_after = now - timedelta(seconds=settings.APIFY_RUN_POLL_AFTER_SECONDS)
    asked_recently = now - timedelta(seconds=settings.APIFY_RUN_POLL_INTERVAL_SECONDS)
    pending = WebhookDelivery.objects.filter(state__in=(State.TO_PROCESS, State.PROCESSING)).values("run_id")
    return (
        Run.objects.filter(status=Run.Status.INITIATED)
        .filter(Q(created_at__lte=poll_after) | Q(expires_at__lte=now))
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lte=asked_recently) | Q(expires_at__lte=now))
        .exclude(pk__in=pending)
        .order_by("created_at")
    )


def _reconcile_start(run: ApifyRunRegistry, now: datetime, summary: ReconcileSummary) -> None:
    client = apify_client()
    try:
        found = find_started_runs(run=run, client=client)
    except IntegrationError as exc:
        if run.expires_at <= now:
            _fail_unconfirmed(run, f"the start was never confirmed and Apify could not be asked ({exc.message})", now)
            summary.failed += 1
        return
    finally:
        client.close()
    with guild_scope(run.guild_id):
        if not found:
            _refund_start(run, now)
            summary.refunded += 1
            return
        first, *again = found
        record_run_started(run=run, info=first)
        for info in again:  # the start was retried and Apify started it twice: both were paid for
            adopt_duplicate_run(run=run, info=info, now=now)
        summary.adopted += 1 + len(again)
    log.info("apify_start_reconciled", run=run.pk, found=[f.run_id for f in found])


def _refund_start(run: ApifyRunRegistry, now: datetime) -> None:
    """Apify lists no run for our request: nothing ran, so the run is given back."""
    was = run.status_message.removeprefix("Start not confirmed: ") or "no answer"
    reason = f"Apify started no run for this request (the start call got: {was})"
    with transaction.atomic():
        if record_start_refused(run=run, reason=reason, now=now) and run.purpose == Run.Purpose.METRICS:
            record_refresh_failures(guild_id=run.guild_id, post_ids=run.post_ids, reason=reason, now=now)
    if run.purpose == Run.Purpose.VERIFICATION:
        fail_expired_verification(run=run, reason="The profile check could not start; try again in a few minutes.")


def _fail_unconfirmed(run: ApifyRunRegistry, reason: str, now: datetime) -> None:
    """Past its deadline and still unknown: failed, not refunded (it may have run)."""
    mark_run_failed(run=run, reason=f"The Apify run could not be followed: {reason}", now=now)
    if run.purpose == Run.Purpose.VERIFICATION:
        fail_expired_verification(run=run)


def _poll(run: ApifyRunRegistry, now: datetime, summary: ReconcileSummary) -> None:
    """Ask Apify about a run that did not report back: ingest it, wait longer, or fail it truthfully."""
    if not run.apify_run_id:  # recorded before runs had to be confirmed: nothing to ask about
        if run.expires_at <= now:
            _fail_unconfirmed(run, "it never reported back and expired", now)
            summary.failed += 1
        return
    client = apify_client()
    try:
        info = client.get_run(run_id=run.apify_run_id)
    except IntegrationError as exc:
        _poll_failed(run, exc, now, summary)
        return
    finally:
        client.close()
    with guild_scope(run.guild_id):
        if info.is_terminal:
            _queue_poll_delivery(run, info)
            summary.polled += 1
        elif run.expires_at <= now + timedelta(seconds=settings.APIFY_RUN_POLL_INTERVAL_SECONDS):
            extend_run(run=run, now=now)  # Apify says it is still running: wait for it
            summary.extended += 1
        else:
            mark_checked(run=run, now=now)
    if info.is_terminal:
        process_delivery(delivery_id=_poll_delivery_id(run, info), now=now)


def _poll_failed(run: ApifyRunRegistry, exc: IntegrationError, now: datetime, summary: ReconcileSummary) -> None:
    if exc.permanent and exc.status == 404:
        mark_run_failed(run=run, reason=f"Apify has no run {run.apify_run_id} (it never reported back)", now=now)
        summary.failed += 1
    elif run.expires_at + timedelta(seconds=settings.APIFY_RUN_POLL_INTERVAL_SECONDS) <= now:
        _fail_unconfirmed(run, f"it never reported back and Apify could not be asked ({exc.message})", now)
        summary.failed += 1
    else:
        with guild_scope(run.guild_id):
            mark_checked(run=run, now=now)


def _poll_key(run: ApifyRunRegistry, info: RunInfo) -> str:
    return f"{run.pk}:{info.run_id}"


def _queue_poll_delivery(run: ApifyRunRegistry, info: RunInfo) -> None:
    """What Apify told us stands in for the webhook that never came: one delivery, processed like one."""
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                source=WebhookDelivery.Source.POLL,
                delivery_id=_poll_key(run, info),
                run=run,
                event_type=f"POLL.{info.status}",
                state=State.TO_PROCESS,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        pass  # polled before: the same delivery is processed again if it is not done


def _poll_delivery_id(run: ApifyRunRegistry, info: RunInfo) -> int:
    return WebhookDelivery.objects.get(source=WebhookDelivery.Source.POLL, delivery_id=_poll_key(run, info)).pk
