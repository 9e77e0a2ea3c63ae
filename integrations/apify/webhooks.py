"""Apify's run webhooks: proof first (size, origin, per-run token, registry), then one accepted
delivery per dispatch id. The body is never trusted for data: processing re-reads the run from
Apify's API (integrations.apify.runs.fetch_initiated_run)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import jsonbody
from core.tenancy import guild_scope, rls_bypass
from integrations.apify.runs import adopt_duplicate_run, apify_client, input_hash
from integrations.apify.tokens import RUN_TOKEN_HEADER, InvalidRunToken, verify_run_token
from integrations.errors import IntegrationError
from integrations.models import ApifyRunRegistry, WebhookDelivery

log = structlog.get_logger(__name__)

Run = ApifyRunRegistry
_APIFY_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


class WebhookRejected(Exception):
    """The delivery does not prove it belongs to a run we started. ``status`` is the 4xx to answer."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class VerifiedDelivery:
    """A delivery whose token proves it is for ``run``. ``other_run``: the body names another Apify
    run than the one recorded for the token — possibly a second run Apify started for the same
    request (``adopt_other_run`` asks Apify)."""

    run: ApifyRunRegistry
    dispatch_id: str
    event_type: str
    apify_run_id: str
    other_run: bool = False


def verify_apify_delivery(*, headers: Any, body: bytes, purpose: str, now: datetime | None = None) -> VerifiedDelivery:
    """Prove a webhook delivery from its raw bytes and headers, or raise WebhookRejected.

    Order: body size, origin (when WEBHOOK_SIGNED_PAYLOAD_MODE=enforce), the per-run token, JSON,
    then the registry: the run exists, has this purpose, has not expired, and the run the body names
    is the run the token was issued for. Reads only; writes nothing.
    """
    now = now or timezone.now()
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        raise WebhookRejected(413, "too_large", f"The body is over {settings.WEBHOOK_MAX_BODY_BYTES} bytes.")
    _check_origin(headers.get("X-Apify-Request-Origin", ""))
    registry_id = _check_token(headers.get(RUN_TOKEN_HEADER, ""), now)
    payload = _parse_json(body)
    dispatch_id = (headers.get("X-Apify-Webhook-Dispatch-Id") or "").strip()
    if not dispatch_id or len(dispatch_id) > 255:
        raise WebhookRejected(400, "no_dispatch_id", "X-Apify-Webhook-Dispatch-Id is missing or too long.")
    with rls_bypass(reason="apify webhook lookup"):
        run = Run.objects.filter(pk=registry_id).first()
    if run is None or run.purpose != purpose:
        raise WebhookRejected(404, "unknown_run", "The token names no run of ours for this endpoint.")
    if run.status == Run.Status.EXPIRED or run.expires_at <= now:
        raise WebhookRejected(410, "expired_run", "This run has expired; its webhook is no longer accepted.")
    body_run_id = _body_run_id(payload)
    event_type = str(payload.get("eventType") or "")[:60]
    other = bool(run.apify_run_id and body_run_id and body_run_id != run.apify_run_id)
    if other:
        with rls_bypass(reason="apify webhook lookup: a second run of the same request"):
            twin = Run.objects.filter(apify_run_id=body_run_id, duplicate_of=run).first()
        run, other = (twin, False) if twin is not None else (run, True)
    return VerifiedDelivery(run, dispatch_id, event_type, body_run_id, other_run=other)


def adopt_other_run(*, delivery: VerifiedDelivery, now: datetime | None = None) -> VerifiedDelivery:
    """The body names a run other than the token's: accept it only when Apify shows it is a second
    run of the very request the token was issued for (same actor, same input, adopted by no row) —
    a start that was retried — and register it (it was paid for). Else WebhookRejected 403. Calls
    Apify: never inside a transaction."""
    now = now or timezone.now()
    run = delivery.run
    client = apify_client()
    try:
        sent = client.get_run_input(run_id=delivery.apify_run_id)
        info = client.get_run(run_id=delivery.apify_run_id)
    except IntegrationError as exc:
        if exc.permanent:
            raise WebhookRejected(403, "other_run", "The token was issued for another run.") from None
        raise WebhookRejected(503, "apify_unreachable", "Apify could not be asked about this run; retry.") from None
    finally:
        client.close()
    if not isinstance(sent, dict) or input_hash(sent) != run.input_hash:
        raise WebhookRejected(403, "other_run", "The token was issued for another run.")
    with guild_scope(run.guild_id):
        sibling = adopt_duplicate_run(run=run, info=info, now=now)
    return VerifiedDelivery(sibling, delivery.dispatch_id, delivery.event_type, delivery.apify_run_id)


def _check_origin(origin: str) -> None:
    allowed = {o.strip().lower() for o in settings.WEBHOOK_ALLOWED_ORIGINS}
    host = origin.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if host in allowed:
        return
    if settings.WEBHOOK_SIGNED_PAYLOAD_MODE == "enforce":
        raise WebhookRejected(403, "bad_origin", "X-Apify-Request-Origin is not an allowed origin.")
    log.warning("apify_webhook_origin_not_allowed", origin=origin[:100], mode="log")


def _check_token(token: str, now: datetime) -> int:
    if not token:
        raise WebhookRejected(401, "no_token", f"{RUN_TOKEN_HEADER} is missing.")
    try:
        registry_id, _ = verify_run_token(
            token=token,
            secret=settings.APIFY_WEBHOOK_SIGNING_SECRET,
            max_age_s=settings.WEBHOOK_DISPATCH_TTL_SECONDS,
            now=int(now.timestamp()),
        )
    except InvalidRunToken as exc:
        raise WebhookRejected(401, "bad_token", f"{RUN_TOKEN_HEADER} is not valid ({exc.reason}).") from None
    except ValueError:  # no signing secret configured: nothing can be proven
        raise WebhookRejected(401, "bad_token", f"{RUN_TOKEN_HEADER} cannot be checked.") from None
    if not registry_id.isdigit():
        raise WebhookRejected(404, "unknown_run", "The token names no run of ours.")
    return int(registry_id)


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        payload = jsonbody.loads(body)
    except jsonbody.BadJson as error:
        raise WebhookRejected(400, "malformed_json", error.message) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "malformed_json", "The body must be a JSON object.")
    return payload


def _body_run_id(payload: dict[str, Any]) -> str:
    """The run id the body names (only used to compare with the registry, never for data)."""
    event = payload.get("eventData") if isinstance(payload.get("eventData"), dict) else {}
    resource = payload.get("resource") if isinstance(payload.get("resource"), dict) else {}
    value = event.get("actorRunId") or resource.get("id") or ""
    return value if isinstance(value, str) and _APIFY_ID.match(value) else ""


def accept_apify_delivery(
    *, delivery: VerifiedDelivery, source: str, ip: str | None, now: datetime | None = None
) -> tuple[WebhookDelivery, str]:
    """Record the dispatch durably, ``to_process``, in the transaction that answers the webhook.

    Returns the delivery row and what happened: "accepted" (new), "requeued" (a redelivery of a
    dispatch not processed yet: due again now), "processing" (another worker holds it right now) or
    "duplicate" (already processed: nothing to do). A run whose start was not confirmed learns its
    Apify run id here: the token proves the run is ours, and processing re-reads it from Apify.
    """
    now = now or timezone.now()
    run = delivery.run
    due = (
        now
        if not settings.CELERY_BROKER_URL
        else now + timedelta(seconds=settings.WEBHOOK_DELIVERY_SWEEP_GRACE_SECONDS)
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = WebhookDelivery.objects.create(
                    source=source,
                    delivery_id=delivery.dispatch_id,
                    run=run,
                    event_type=delivery.event_type,
                    remote_ip=ip,
                    state=WebhookDelivery.State.TO_PROCESS,
                    next_attempt_at=due,
                )
            outcome = "accepted"
        except IntegrityError:
            row = WebhookDelivery.objects.select_for_update().get(source=source, delivery_id=delivery.dispatch_id)
            outcome = _redelivered(row, run, now)
        if outcome != "duplicate" and run.status == Run.Status.STARTING and delivery.apify_run_id:
            with guild_scope(run.guild_id):
                Run.objects.for_guild(run.guild_id).filter(pk=run.pk, status=Run.Status.STARTING).update(
                    status=Run.Status.INITIATED, apify_run_id=delivery.apify_run_id, status_message=""
                )
    log.info("apify_webhook_" + outcome, source=source, dispatch_id=delivery.dispatch_id, run=run.pk)
    return row, outcome


def _redelivered(row: WebhookDelivery, run: ApifyRunRegistry, now: datetime) -> str:
    """Apify sent a dispatch again: process it again unless it was processed (or is being processed)."""
    State = WebhookDelivery.State
    if row.state == State.DONE or (row.state == State.FAILED and run.status not in Run.OPEN):
        return "duplicate"
    if row.state == State.PROCESSING and row.lease_until and row.lease_until > now:
        return "processing"
    row.state, row.next_attempt_at, row.lease_until = State.TO_PROCESS, now, None
    row.save(update_fields=["state", "next_attempt_at", "lease_until"])
    return "requeued"
