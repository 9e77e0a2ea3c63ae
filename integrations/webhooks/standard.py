"""Standard Webhooks (https://www.standardwebhooks.com) signatures for bot callbacks, both ways.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``, HMAC-SHA256 with the secret's
base64-decoded bytes, sent as ``webhook-signature: v1,<base64>`` (space-separated when several keys
are live during a rotation). The HMAC itself comes from the ``standardwebhooks`` package so that any
consumer library accepts what we send; header parsing, the clock and the reasons are ours, because
the package hard-codes a 5-minute tolerance against the real clock, raises one untyped error for
every failure and crashes (ValueError) on a malformed signature list.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"

_SECRET_PREFIX = "whsec_"
_VERSION = "v1"

MISSING_HEADERS = "missing_headers"
BAD_TIMESTAMP = "bad_timestamp"
STALE = "stale"
FUTURE = "future"
BAD_SIGNATURE = "bad_signature"


class InvalidWebhook(ValueError):
    """The delivery does not prove it comes from a holder of the secret. ``reason`` is one of
    ``missing_headers``, ``bad_timestamp``, ``stale``, ``future``, ``bad_signature``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def check_secret(secret: str) -> None:
    """Raise ``ValueError`` unless ``secret`` is ``whsec_<base64>`` (prefix optional) of a non-empty key.

    Meant for start-up checks of BOT_CALLBACK_SIGNING_SECRET; the message never contains the secret.
    """
    _webhook(secret)


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the three headers that make ``body`` a Standard Webhooks delivery.

    ``msg_id`` must stay the same across retries of one event (receivers de-duplicate on it);
    ``timestamp`` is the unix time of this attempt. Raises ``ValueError`` for a malformed secret or
    a body that is not UTF-8 (the reference implementation signs text).
    """
    if not msg_id:
        raise ValueError("msg_id is required")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: _signature(_webhook(secret), msg_id, int(timestamp), _text(body)),
    }


def verify(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: int,
    now: int | None = None,
) -> str:
    """Return the delivery's ``webhook-id`` if ``body`` carries a valid signature made within
    ``tolerance_s`` seconds of ``now`` (default: the current time); otherwise raise ``InvalidWebhook``.

    Any one matching ``v1`` signature among several is enough (key rotation); other versions and
    malformed entries are ignored. Comparison is constant-time. A malformed ``secret`` raises a plain
    ``ValueError`` - that is our configuration, not the sender's fault.
    """
    webhook = _webhook(secret)
    msg_id, raw_timestamp, signatures = _required_headers(headers)
    timestamp = _checked_timestamp(raw_timestamp, tolerance_s=tolerance_s, now=now)
    try:
        text = _text(body)
    except ValueError:
        raise InvalidWebhook(BAD_SIGNATURE, "body is not UTF-8") from None
    expected = base64.b64decode(_signature(webhook, msg_id, timestamp, text).partition(",")[2])
    if not any(hmac.compare_digest(expected, candidate) for candidate in _v1_signatures(signatures)):
        raise InvalidWebhook(BAD_SIGNATURE, "no signature matches the body")
    return msg_id


def _webhook(secret: str) -> Webhook:
    encoded = secret.removeprefix(_SECRET_PREFIX)
    try:
        # validate=True: the package's b64decode would silently drop characters outside base64.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("the webhook signing secret must be whsec_ followed by base64") from None
    if not key:
        raise ValueError("the webhook signing secret is empty")
    return Webhook(key)


def _signature(webhook: Webhook, msg_id: str, timestamp: int, text: str) -> str:
    return webhook.sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), text)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("webhook bodies must be UTF-8") from None


def _required_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    lowered = {key.lower(): value for key, value in headers.items()}
    values = tuple(lowered.get(name, "").strip() for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    if not all(values):
        raise InvalidWebhook(MISSING_HEADERS, f"{ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    return values  # type: ignore[return-value]


def _checked_timestamp(raw: str, *, tolerance_s: int, now: int | None) -> int:
    # The spec's timestamp is integer seconds; floats, signs and exponents are not accepted.
    if not raw.isascii() or not raw.isdigit():
        raise InvalidWebhook(BAD_TIMESTAMP, f"{TIMESTAMP_HEADER} must be a unix time in seconds")
    timestamp = int(raw)
    current = int(time.time()) if now is None else now
    if timestamp < current - tolerance_s:
        raise InvalidWebhook(STALE, f"{TIMESTAMP_HEADER} is more than {tolerance_s}s old")
    if timestamp > current + tolerance_s:
        raise InvalidWebhook(FUTURE, f"{TIMESTAMP_HEADER} is more than {tolerance_s}s in the future")
    return timestamp


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` entries of a signature header; entries that are not base64 are skipped."""
    found = []
    for entry in header.split():
        version, _, signature = entry.partition(",")
        decoded = _decoded(signature) if version == _VERSION else None
        if decoded:
            found.append(decoded)
    return found


def _decoded(signature: str) -> bytes | None:
    try:
        return base64.b64decode(signature + "=" * (-len(signature) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
