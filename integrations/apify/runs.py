"""The Apify run registry: every run we pay for, from the moment it is reserved to its end.

A run's life follows reserve → call → record (README, "Architecture"):

    run = reserve_run(...)            one committed transaction: the registry row and one run
                                      debited from the guild's daily budget (None: no budget left)
    info = call_start(run=..., ...)   Apify is called with no transaction open and no lock held
    record_run_started(run, info)     a second transaction stores Apify's run and dataset ids

A refusal (Apify answered that it did not start the run) gives the run back
(``record_start_refused``); a run that ended badly is failed (``fail_run``); nothing else ever
changes an ``initiated`` row. What a run's dataset *means* (metrics, a profile check) is decided by
its purpose's owner (metrics.collection, integrations.verification).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.tenancy import rls_bypass
from guilds.budgets import debit_budget, usage_day
from guilds.models import GuildApiUsage
from integrations.apify.client import ApifyClient, RunInfo
from integrations.apify.tokens import RUN_TOKEN_HEADER, sign_run_token
from integrations.errors import FeatureDisabled, IntegrationError
from integrations.models import ApifyRunRegistry

log = structlog.get_logger(__name__)

Run = ApifyRunRegistry
WEBHOOK_PATHS = {Run.Purpose.METRICS: "/api/webhooks/apify", Run.Purpose.VERIFICATION: "/api/webhooks/verify"}


def apify_client() -> ApifyClient:
    """An Apify client from settings; raises FeatureDisabled when APIFY_API_TOKEN is unset."""
    if not settings.APIFY_API_TOKEN:
        raise FeatureDisabled("Apify is off: APIFY_API_TOKEN is not set.")
    return ApifyClient(
        token=settings.APIFY_API_TOKEN,
        base_url=settings.APIFY_API_BASE_URL,
        timeout_s=settings.APIFY_HTTP_TIMEOUT_MS / 1000,
        max_retries=settings.APIFY_MAX_RETRIES,
        retry_delay_s=settings.APIFY_RETRY_DELAY_MS / 1000,
    )


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
    now: datetime,
    post_ids: Sequence[int] = (),
    profile_id: int | None = None,
) -> ApifyRunRegistry | None:
    """Write the registry row and debit one run from the guild's budget, in one committed
    transaction (runs in the guild's scope). None when today's run budget is spent (nothing written).
    Two workers can never both spend the last run: the debit is one conditional UPDATE."""
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
            expires_at=now + timedelta(seconds=settings.WEBHOOK_DISPATCH_TTL_SECONDS),
        )


def call_start(
    *, run: ApifyRunRegistry, run_input: dict[str, Any], now: datetime, max_items: int | None = None
) -> RunInfo:
    """Ask Apify to start the reserved run, with the webhook that proves it is ours. The vendor call
    of reserve → call → record: never inside a transaction. Raises IntegrationError."""
    client = apify_client()
    try:
        return client.start_run(
            actor_id=run.actor_id,
            run_input=run_input,
            webhook_url=settings.PUBLIC_BASE_URL + WEBHOOK_PATHS[run.purpose],
            webhook_headers={RUN_TOKEN_HEADER: run_token(run, now=now)},
            max_items=max_items,
        )
    finally:
        client.close()


def record_run_started(*, run: ApifyRunRegistry, info: RunInfo) -> None:
    """Store the run and dataset ids Apify gave us (runs in the guild's scope)."""
    Run.objects.for_guild(run.guild_id).filter(pk=run.pk).update(
        apify_run_id=info.run_id, dataset_id=info.dataset_id or ""
    )
    run.apify_run_id, run.dataset_id = info.run_id, info.dataset_id or ""
    log.info("apify_run_started", run=run.pk, apify_run_id=info.run_id, guild_id=run.guild_id, purpose=run.purpose)


def fail_run(*, run: ApifyRunRegistry, reason: str, now: datetime | None = None) -> bool:
    """Mark the run failed unless it already reached a final state. True when this call failed it."""
    return bool(
        Run.objects.for_guild(run.guild_id)
        .filter(pk=run.pk, status=Run.Status.INITIATED)
        .update(status=Run.Status.FAILED, status_message=reason[:500], finished_at=now or timezone.now())
    )


def record_start_refused(*, run: ApifyRunRegistry, reason: str, now: datetime) -> bool:
    """A run Apify never started: failed, and its run given back to the guild's budget of the day it
    was debited, in one transaction. Idempotent: only an ``initiated`` row changes (True then)."""
    with transaction.atomic():
        if not fail_run(run=run, reason=reason, now=now):
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
