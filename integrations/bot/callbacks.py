"""Bot callbacks, both ways, signed with Standard Webhooks (BOT_CALLBACK_SIGNING_SECRET).

Outbound: ``guilds.bot_events.queue_bot_event`` writes a BotCallback row (in the caller's
transaction: an event whose change rolls back is never sent); the periodic delivery job (integrations.bot.tasks, every
minute in beat and in ``manage.py track``) calls ``deliver_due_callbacks``, which POSTs due rows
to BOT_CALLBACK_URL, the same ``webhook-id`` (the row's
event_id) on every attempt, retrying with exponential backoff and jitter until
WEBHOOK_DISPATCH_TTL_SECONDS after the row was created (then ``expired``). A 2xx marks it
``delivered`` and it is never sent again; a 4xx other than 408/409/425/429 is ``failed`` (the bot
refused it; a retry cannot help).

Inbound (POST /api/callbacks): ``accept_inbound_callback`` verifies the signature on the raw body
(tolerance WEBHOOK_SIGNED_PAYLOAD_TTL_SECONDS), checks the sender names an allowed service
(``X-Callback-Service`` header or the body's ``"service"``), drops replayed ids (a short cache entry
plus a unique WebhookDelivery row) and dispatches on the event type. ``bot.heartbeat`` updates
BotHealth; other event types are accepted and ignored, so the bot does not retry them forever.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import jsonbody
from core.tenancy import rls_bypass
from dashboard_auth.services import record_security_event
from guilds.models import BotCallback, BotHealth
from integrations.models import WebhookDelivery
from integrations.webhooks import standard

log = structlog.get_logger(__name__)

SERVICE_HEADER = "X-Callback-Service"
REPLAY_CACHE_PREFIX = "bot-callback-seen"
CLAIM_SECONDS = 300  # a claimed row is not picked again for this long (a crashed worker's row returns)
BATCH_SIZE = 50
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})
HEARTBEAT = "bot.heartbeat"


# --- outbound ---------------------------------------------------------------------------------


@dataclass
class DeliverySummary:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    expired: int = 0


def callback_body(row: BotCallback) -> bytes:
    """The JSON body of a delivery (the same bytes on every attempt)."""
    body = {
        "type": row.event_type,
        "id": row.event_id,
        "timestamp": row.created_at.isoformat(),
        "guild_id": str(row.guild_id) if row.guild_id else None,
        "service": settings.BOT_CALLBACK_SERVICE_NAME,
        "data": row.payload,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def deliver_due_callbacks(
    *, now: datetime | None = None, session: requests.Session | None = None, limit: int = BATCH_SIZE
) -> DeliverySummary:
    """Deliver the callbacks that are due. Safe to run concurrently; each row is claimed first."""
    summary = DeliverySummary()
    if not settings.BOT_CALLBACK_SIGNING_SECRET or not settings.BOT_CALLBACK_URL:
        return summary
    now = now or timezone.now()
    summary.expired = _expire_old(now)
    session = session or requests.Session()
    for row in _claim_due(now, limit):
        _deliver_one(row, session=session, now=now, summary=summary)
    return summary


def _expire_old(now: datetime) -> int:
    cutoff = now - timedelta(seconds=settings.WEBHOOK_DISPATCH_TTL_SECONDS)
    with rls_bypass(reason="bot callbacks: expire"):
        return BotCallback.objects.filter(status=BotCallback.Status.PENDING, created_at__lt=cutoff).update(
            status=BotCallback.Status.EXPIRED, last_error="not delivered within WEBHOOK_DISPATCH_TTL_SECONDS"
        )


def _claim_due(now: datetime, limit: int) -> list[BotCallback]:
    """Lock due rows, push their next attempt past the claim window and count the attempt."""
    with rls_bypass(reason="bot callbacks: claim due"), transaction.atomic():
        rows = list(
            BotCallback.objects.select_for_update(skip_locked=True)
            .filter(status=BotCallback.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
        BotCallback.objects.bulk_update(rows, ["attempts", "next_attempt_at"])
    return rows


def _deliver_one(row: BotCallback, *, session: requests.Session, now: datetime, summary: DeliverySummary) -> None:
    body = callback_body(row)
    headers = standard.sign(
        secret=settings.BOT_CALLBACK_SIGNING_SECRET, msg_id=row.event_id, timestamp=int(time.time()), body=body
    )
    headers.update({"Content-Type": "application/json", SERVICE_HEADER: settings.BOT_CALLBACK_SERVICE_NAME})
    if settings.BOT_CALLBACK_TOKEN:  # the bot may also ask for a bearer token (BOT_CALLBACK_TOKEN)
        headers["Authorization"] = f"Bearer {settings.BOT_CALLBACK_TOKEN}"
    try:
        response = session.post(
            settings.BOT_CALLBACK_URL,
            data=body,
            headers=headers,
            timeout=settings.DEFAULT_OUTBOUND_HTTP_TIMEOUT_MS / 1000,
        )
        status, error = response.status_code, f"the bot answered {response.status_code}"
    except requests.RequestException as exc:  # the URL is ours, but keep messages short and uniform
        status, error = 0, f"could not reach the bot ({type(exc).__name__})"
    changes: dict[str, Any]
    if 200 <= status < 300:
        changes = {"status": BotCallback.Status.DELIVERED, "delivered_at": timezone.now(), "last_error": ""}
        summary.delivered += 1
    elif 400 <= status < 500 and status not in _RETRYABLE_4XX:
        changes = {"status": BotCallback.Status.FAILED, "last_error": error}
        summary.failed += 1
    else:
        changes = {"next_attempt_at": now + backoff(row.attempts), "last_error": error}
        summary.retrying += 1
    with rls_bypass(reason="bot callbacks: record attempt"):
        BotCallback.objects.filter(pk=row.pk, status=BotCallback.Status.PENDING).update(**changes)
    log.info("bot_callback_attempt", event_id=row.event_id, attempt=row.attempts, status=status)


def backoff(attempts: int, *, rand: Callable[[], float] = random.random) -> timedelta:
    """BASE * 2^(attempts-1), capped at MAX, with up to 20% jitter so retries do not arrive together."""
    base = settings.BOT_CALLBACK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    seconds = min(base, settings.BOT_CALLBACK_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds * (1 + 0.2 * rand()))


# --- inbound ----------------------------------------------------------------------------------


class CallbackRejected(Exception):
    """A delivery we refuse: ``status`` (4xx or 503), a stable ``code`` and a message for the sender."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


@dataclass(frozen=True)
class InboundResult:
    delivery_id: str
    event_type: str
    duplicate: bool = False
    handled: bool = False


def accept_inbound_callback(
    *, headers: Mapping[str, str], body: bytes, ip: str | None = None, now: int | None = None
) -> InboundResult:
    """Verify, de-duplicate and handle one inbound bot callback. Raises ``CallbackRejected``.

    Security rejections (signature, timestamp, service) are recorded as security events.
    """
    if not settings.BOT_CALLBACK_SIGNING_SECRET:
        raise CallbackRejected(503, "not_configured", "Bot callbacks are off: BOT_CALLBACK_SIGNING_SECRET is not set.")
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        raise _security(413, "too_large", "The body is larger than WEBHOOK_MAX_BODY_BYTES.", ip)
    delivery_id = _verified_id(headers, body, ip, now)
    event = _parsed(body)
    service = str(_header(headers, SERVICE_HEADER) or event.get("service") or "")
    if service not in settings.BOT_CALLBACK_ALLOWED_SERVICES:
        raise _security(403, "unknown_service", f"Service {service[:40]!r} may not send callbacks.", ip)
    event_type = str(event.get("type") or event.get("event_type") or "")[:60]
    if not event_type:
        raise CallbackRejected(400, "invalid", 'The body needs a "type".', {"type": ["This field is required."]})
    handler = HANDLERS.get(event_type)
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    if handler is not None:
        handler.validate(data)  # before remembering the id: a corrected resend must get through
    if _seen_recently(delivery_id):
        return _duplicate(delivery_id, event_type)
    # The id is remembered in the transaction of the handler's own work: a handler that fails leaves
    # the id unused, so the bot's retry is handled rather than dropped as a replay.
    with transaction.atomic():
        if not _remember(delivery_id, event_type, ip):
            return _duplicate(delivery_id, event_type)
        if handler is not None:
            handler.handle(data)
    _seen(delivery_id)
    if handler is None:
        log.info("bot_callback_ignored", delivery_id=delivery_id, event_type=event_type)
        return InboundResult(delivery_id, event_type)
    return InboundResult(delivery_id, event_type, handled=True)


def _duplicate(delivery_id: str, event_type: str) -> InboundResult:
    log.info("bot_callback_duplicate", delivery_id=delivery_id, event_type=event_type)
    return InboundResult(delivery_id, event_type, duplicate=True)


MAX_ID_LENGTH = 255  # WebhookDelivery.delivery_id: ids are kept whole, never cut (cut ids could collide)


def _checked_id(delivery_id: str) -> str:
    if len(delivery_id) > MAX_ID_LENGTH:
        raise CallbackRejected(400, "id_too_long", f"webhook-id may have at most {MAX_ID_LENGTH} characters.")
    return delivery_id


def _verified_id(headers: Mapping[str, str], body: bytes, ip: str | None, now: int | None) -> str:
    try:
        return _checked_id(
            standard.verify(
                secret=settings.BOT_CALLBACK_SIGNING_SECRET,
                headers=headers,
                body=body,
                tolerance_s=settings.WEBHOOK_SIGNED_PAYLOAD_TTL_SECONDS,
                now=now,
            )
        )
    except standard.InvalidWebhook as error:
        if settings.BOT_CALLBACK_SIGNED_MODE == "log" and _header(headers, standard.ID_HEADER):
            record_security_event(
                kind="webhook_rejected", source="bot_callback", reason=f"{error.reason} (log mode: accepted)", ip=ip
            )
            return _checked_id(str(_header(headers, standard.ID_HEADER)))
        status = 400 if error.reason in (standard.MISSING_HEADERS, standard.BAD_TIMESTAMP) else 401
        raise _security(status, error.reason, _REASONS.get(error.reason, "The signature is not valid."), ip) from None


_REASONS = {
    standard.MISSING_HEADERS: "webhook-id, webhook-timestamp and webhook-signature headers are required.",
    standard.BAD_TIMESTAMP: "webhook-timestamp must be a unix time in seconds.",
    standard.STALE: "webhook-timestamp is too old; sign each attempt with the current time.",
    standard.FUTURE: "webhook-timestamp is in the future; check the sender's clock.",
    standard.BAD_SIGNATURE: "The signature does not match the body (wrong secret or changed body).",
}


def _security(status: int, code: str, message: str, ip: str | None) -> CallbackRejected:
    record_security_event(kind="webhook_rejected", source="bot_callback", reason=f"{code}: {message}", ip=ip)
    return CallbackRejected(status, code, message)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _parsed(body: bytes) -> dict[str, Any]:
    try:
        event = jsonbody.loads(body)
    except jsonbody.BadJson as error:
        raise CallbackRejected(400, "invalid_json", error.message) from None
    if not isinstance(event, dict):
        raise CallbackRejected(400, "invalid_json", "The body must be a JSON object.")
    return event


def _replay_key(delivery_id: str) -> str:
    # Ids run to 255 characters; the key stays short and safe for any cache backend.
    return f"{REPLAY_CACHE_PREFIX}:{hashlib.sha256(delivery_id.encode()).hexdigest()}"


def _seen_recently(delivery_id: str) -> bool:
    """A replay the cache remembers (fast path; the unique row below is the one that decides)."""
    try:
        return cache.get(_replay_key(delivery_id)) is not None
    except Exception:  # noqa: BLE001 - no cache: the database row still decides
        log.warning("bot_callback_replay_cache_unavailable")
        return False


def _seen(delivery_id: str) -> None:
    try:
        cache.set(_replay_key(delivery_id), 1, timeout=settings.WEBHOOK_SIGNED_PAYLOAD_TTL_SECONDS * 2)
    except Exception:  # noqa: BLE001
        log.warning("bot_callback_replay_cache_unavailable")


def _remember(delivery_id: str, event_type: str, ip: str | None) -> bool:
    """True the first time this id is seen (a unique row, written in the caller's transaction)."""
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                source=WebhookDelivery.Source.BOT, delivery_id=delivery_id, event_type=event_type, remote_ip=ip
            )
    except IntegrityError:
        return False
    return True


# --- inbound handlers (dispatch on event type) ------------------------------------------------


@dataclass(frozen=True)
class Handler:
    validate: Callable[[dict[str, Any]], None]
    handle: Callable[[dict[str, Any]], None]


# The largest value each heartbeat number's column holds.
_HEARTBEAT_INTS = {
    "shard_count": 2**31 - 1,
    "guild_count": 2**31 - 1,
    "memory_mb": 2**31 - 1,
    "uptime_seconds": 2**63 - 1,
}


def _validate_heartbeat(data: dict[str, Any]) -> None:
    fields: dict[str, list[str]] = {}
    for name, high in _HEARTBEAT_INTS.items():
        value = data.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            fields[name] = [f"Must be a whole number from 0 to {high:,}."]
    status = data.get("status", BotHealth.Status.ONLINE)
    if status not in BotHealth.Status.values:
        fields["status"] = [f"Must be one of {', '.join(BotHealth.Status.values)}."]
    if fields:
        raise CallbackRejected(400, "invalid", "The heartbeat has invalid fields.", fields)


def _handle_heartbeat(data: dict[str, Any]) -> None:
    """Record the bot's heartbeat on the BotHealth singleton (not guild data: no scope needed)."""
    values = {name: int(data.get(name, 0)) for name in _HEARTBEAT_INTS}
    now = timezone.now()
    BotHealth.load()
    BotHealth.objects.filter(pk=1).update(
        last_heartbeat_at=now, updated_at=now, status=data.get("status", BotHealth.Status.ONLINE), **values
    )


HANDLERS: dict[str, Handler] = {HEARTBEAT: Handler(_validate_heartbeat, _handle_heartbeat)}
