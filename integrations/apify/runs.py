"""The Apify run registry: every run we pay for, from the moment it is reserved to its end.

A run's life follows reserve → call → record (README, "Architecture"):

    run = reserve_run(...)            one committed transaction: the registry row (``starting``,
                                      with the fingerprint of the input) and one run debited from
                                      the guild's daily budget (None: no budget left)
    info = call_start(run=..., ...)   Apify is called with no transaction open and no lock held
    record_run_started(run, info)     a second transaction stores Apify's run and dataset ids

The start call has three outcomes. Apify started the run: recorded (``initiated``). Apify answered
that it did not (a 4xx, a 429): ``StartRefused``, the row fails and its run is given back
(``record_start_refused``). Nobody knows (a timeout after the request left, a 5xx, a lost answer,
a crash during the call): ``StartUnknown``, the row stays ``starting`` with the reason, and
``reconcile_starting_run`` later finds the run among the actor's runs by the input we sent — or
fails it with the real reason, giving the run back only when Apify confirms nothing ran. A run that
ran is never refunded. What a dataset *means* (metrics, a profile check) is decided by its
purpose's owner (metrics.collection, integrations.verification).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.tenancy import rls_bypass
from guilds.budgets import debit_budget, record_usage, usage_day
from guilds.models import GuildApiUsage
from integrations.apify.client import ApifyClient, RunInfo
from integrations.apify.tokens import RUN_TOKEN_HEADER, sign_run_token
from integrations.errors import FeatureDisabled, IntegrationError
from integrations.models import ApifyRunRegistry

log = structlog.get_logger(__name__)

Run = ApifyRunRegistry
WEBHOOK_PATHS = {Run.Purpose.METRICS: "/api/webhooks/apify", Run.Purpose.VERIFICATION: "/api/webhooks/verify"}


class StartRefused(Exception):
    """Apify answered that it did not start the run (nothing to pay for)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class StartUnknown(Exception):
    """Whether Apify started the run is not known (the request may have left): reconcile, never refund."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def apify_client(*, max_retries: int | None = None) -> ApifyClient:
    """An Apify client from settings; raises FeatureDisabled when APIFY_API_TOKEN is unset."""
    if not settings.APIFY_API_TOKEN:
        raise FeatureDisabled("Apify is off: APIFY_API_TOKEN is not set.")
    return ApifyClient(
        token=settings.APIFY_API_TOKEN,
        base_url=settings.APIFY_API_BASE_URL,
        timeout_s=settings.APIFY_HTTP_TIMEOUT_MS / 1000,
        max_retries=settings.APIFY_MAX_RETRIES if max_retries is None else max_retries,
        retry_delay_s=settings.APIFY_RETRY_DELAY_MS / 1000,
    )


def input_hash(run_input: dict[str, Any]) -> str:
    """The fingerprint of a run input: how a start whose answer was lost is recognised at Apify."""
    canonical = json.dumps(run_input, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def run_token(run: ApifyRunRegistry, *, now: datetime) -> str:
    """The per-run proof Apify echoes back in X-Tracking-Run-Token."""
    return sign_run_token(
        registry_id=run.pk, issued_at=int(now.timestamp()), secret=settings.APIFY_WEBHOOK_SIGNING_SECRET
    )


def reserve_run(
    *,
    guild_id: int,
    purpose: str,
    platform: str,
    actor_id: str,
    run_input: dict[str, Any],
    now: datetime,
    post_ids: Sequence[int] = (),
    profile_id: int | None = None,
) -> ApifyRunRegistry | None:
    """Write the registry row (``starting``) and debit one run from the guild's budget, in one
    committed transaction (runs in the guild's scope). None when today's run budget is spent
    (nothing written). Two workers can never both spend the last run: the debit is one conditional
    UPDATE."""
    with transaction.atomic():
        if not debit_budget(guild=guild_id, kind="apify_runs", now=now):
            return None
        return Run.objects.create(
            guild_id=guild_id,
            purpose=purpose,
            platform=platform,
            actor_id=actor_id,
            post_ids=list(post_ids),
            profile_id=profile_id,
            item_count=len(post_ids),
            input_hash=input_hash(run_input),
            expires_at=now + timedelta(seconds=settings.WEBHOOK_DISPATCH_TTL_SECONDS),
        )


def call_start(
    *, run: ApifyRunRegistry, run_input: dict[str, Any], now: datetime, max_items: int | None = None
) -> RunInfo:
    """Ask Apify to start the reserved run, with the webhook that proves it is ours. The vendor call
    of reserve → call → record: never inside a transaction. No client retries: a retried POST can
    start a second paid run; a start whose answer is lost is reconciled instead.

    Raises StartRefused (Apify said no: a 4xx or a 429) or StartUnknown (no answer we can trust: a
    timeout, a connection error, a 5xx, an unreadable answer)."""
    client = apify_client(max_retries=0)
    try:
        return client.start_run(
            actor_id=run.actor_id,
            run_input=run_input,
            webhook_url=settings.PUBLIC_BASE_URL + WEBHOOK_PATHS[run.purpose],
            webhook_headers={RUN_TOKEN_HEADER: run_token(run, now=now)},
            max_items=max_items,
        )
    except IntegrationError as exc:
        if exc.status is not None and 400 <= exc.status < 500:  # 429 included: rate limited, nothing started
            raise StartRefused(exc.message) from exc
        raise StartUnknown(exc.message) from exc  # a 5xx may hide a started run; so may a timeout
    finally:
        client.close()


def record_run_started(*, run: ApifyRunRegistry, info: RunInfo) -> bool:
    """Store the run and dataset ids Apify gave us and mark the run ``initiated`` (runs in the guild's
    scope). False when the row was no longer ``starting`` (another process recorded it first)."""
    changed = (
        Run.objects.for_guild(run.guild_id)
        .filter(pk=run.pk, status=Run.Status.STARTING)
        .update(
            status=Run.Status.INITIATED, apify_run_id=info.run_id, dataset_id=info.dataset_id or "", status_message=""
        )
    )
    run.apify_run_id, run.dataset_id = info.run_id, info.dataset_id or ""
    if changed:
        run.status = Run.Status.INITIATED
        log.info("apify_run_started", run=run.pk, apify_run_id=info.run_id, guild_id=run.guild_id, purpose=run.purpose)
    return bool(changed)


def record_start_unknown(*, run: ApifyRunRegistry, reason: str) -> None:
    """The start's outcome is not known: the row stays ``starting`` with the reason, for the reconciler."""
    Run.objects.for_guild(run.guild_id).filter(pk=run.pk, status=Run.Status.STARTING).update(
        status_message=f"Start not confirmed: {reason}"[:500]
    )
    log.warning("apify_start_unknown", run=run.pk, guild_id=run.guild_id, reason=reason)


def fail_run(*, run: ApifyRunRegistry, reason: str, now: datetime | None = None) -> bool:
    """Mark the run failed unless it already reached a final state. True when this call failed it."""
    return bool(
        Run.objects.for_guild(run.guild_id)
        .filter(pk=run.pk, status__in=Run.OPEN)
        .update(status=Run.Status.FAILED, status_message=reason[:500], finished_at=now or timezone.now())
    )


def record_start_refused(*, run: ApifyRunRegistry, reason: str, now: datetime) -> bool:
    """A run Apify never started: failed, and its run given back to the guild's budget of the day it
    was debited, in one transaction. Idempotent: only a ``starting`` row changes (True then)."""
    with transaction.atomic():
        changed = (
            Run.objects.for_guild(run.guild_id)
            .filter(pk=run.pk, status=Run.Status.STARTING)
            .update(status=Run.Status.FAILED, status_message=reason[:500], finished_at=now)
        )
        if not changed:
            return False
        GuildApiUsage.objects.for_guild(run.guild_id).filter(
            day=usage_day(run.created_at or now), apify_run_count__gte=1
        ).update(apify_run_count=F("apify_run_count") - 1)
    return True


def load_run(registry_id: int) -> ApifyRunRegistry | None:
    """A registry row by id, whatever its guild (a logged bypass: webhooks and tasks start here)."""
    with rls_bypass(reason="apify run lookup"):
        return Run.objects.filter(pk=registry_id).first()


def fetch_finished_run(*, run: ApifyRunRegistry, client: ApifyClient) -> tuple[RunInfo, list[dict[str, Any]]]:
    """The run's state from Apify (never from the webhook body) and, when it succeeded, its items.

    Raises IntegrationError: transient when the run is still running or Apify did not answer.
    """
    if not run.apify_run_id:
        raise IntegrationError(f"Run {run.pk} has no Apify run id yet", permanent=False, code="no_run_id")
    info = client.get_run(run_id=run.apify_run_id)
    if not info.is_terminal:
        raise IntegrationError(f"Apify run {info.run_id} is still {info.status}", permanent=False, code="running")
    if not info.succeeded or not info.dataset_id:
        return info, []
    return info, list(client.iter_dataset_items(dataset_id=info.dataset_id))


def fetch_initiated_run(*, registry_id: int, purpose: str):
    """(run, finished run info, dataset items) for a run still ``initiated`` with that purpose, or
    None when there is nothing to do (unknown, already final, or another purpose). Calls Apify:
    never inside a transaction."""
    run = load_run(registry_id)
    if run is None or run.status != Run.Status.INITIATED or run.purpose != purpose:
        return None
    client = apify_client()
    try:
        info, raw = fetch_finished_run(run=run, client=client)
    finally:
        client.close()
    return run, info, raw


# ------------------------------------------------------------------------------------------------
# Reconciliation: what Apify really did with the runs we know of
# ------------------------------------------------------------------------------------------------


def start_settled(run: ApifyRunRegistry, now: datetime) -> bool:
    """Whether a start call made for ``run`` has certainly returned or died (its timeout is over),
    so that Apify's list of runs can be trusted to show the run if it exists."""
    settle = timedelta(milliseconds=settings.APIFY_HTTP_TIMEOUT_MS) + timedelta(
        seconds=settings.APIFY_START_SETTLE_SECONDS
    )
    return run.created_at + settle <= now


def find_started_runs(*, run: ApifyRunRegistry, client: ApifyClient) -> list[RunInfo]:
    """The actor's runs started around our start call whose input is the one we sent and that no
    registry row has adopted, oldest first. Raises IntegrationError when Apify cannot be read."""
    window = timedelta(seconds=settings.APIFY_START_SETTLE_SECONDS) + timedelta(
        milliseconds=settings.APIFY_HTTP_TIMEOUT_MS
    )
    candidates = client.list_runs(
        actor_id=run.actor_id, started_after=run.created_at - window, started_before=run.created_at + 2 * window
    )
    with rls_bypass(reason="apify reconcile: which runs are adopted"):  # run ids are unique across guilds
        taken = set(
            Run.objects.filter(apify_run_id__in=[c.run_id for c in candidates]).values_list("apify_run_id", flat=True)
        )
    found = []
    for candidate in candidates:
        if candidate.run_id in taken:
            continue
        sent = client.get_run_input(run_id=candidate.run_id)
        if isinstance(sent, dict) and input_hash(sent) == run.input_hash:
            found.append(candidate)
    return sorted(found, key=lambda c: (c.started_at is None, c.started_at, c.run_id))


def adopt_duplicate_run(*, run: ApifyRunRegistry, info: RunInfo, now: datetime) -> ApifyRunRegistry:
    """A second run Apify started for the same request (the start was retried): registered as its own
    run, covering the same posts, and counted in the guild's budget — it was paid for. Runs in the
    guild's scope."""
    with transaction.atomic():
        sibling = Run.objects.create(
            guild_id=run.guild_id,
            purpose=run.purpose,
            platform=run.platform,
            actor_id=run.actor_id,
            post_ids=list(run.post_ids),
            profile_id=run.profile_id,
            item_count=run.item_count,
            input_hash=run.input_hash,
            duplicate_of=run,
            status=Run.Status.INITIATED,
            apify_run_id=info.run_id,
            dataset_id=info.dataset_id or "",
            status_message=f"A second run Apify started for the request of run #{run.pk}.",
            expires_at=now + timedelta(seconds=settings.WEBHOOK_DISPATCH_TTL_SECONDS),
        )
        record_usage(guild=run.guild_id, now=now, apify_run_count=1)
    log.warning("apify_duplicate_run_adopted", run=sibling.pk, duplicate_of=run.pk, apify_run_id=info.run_id)
    return sibling


def extend_run(*, run: ApifyRunRegistry, now: datetime) -> None:
    """Apify says the run is still going: wait for it another WEBHOOK_DISPATCH_TTL_SECONDS."""
    Run.objects.for_guild(run.guild_id).filter(pk=run.pk, status=Run.Status.INITIATED).update(
        expires_at=now + timedelta(seconds=settings.WEBHOOK_DISPATCH_TTL_SECONDS), checked_at=now
    )


def mark_checked(*, run: ApifyRunRegistry, now: datetime) -> None:
    Run.objects.for_guild(run.guild_id).filter(pk=run.pk).update(checked_at=now)
