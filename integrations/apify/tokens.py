"""Per-run webhook tokens: the proof that an Apify webhook belongs to a run we started.

Apify documents no signature on webhook deliveries, so when we start a run we put an HMAC token that
names our run-registry row into the ad-hoc webhook's ``headersTemplate``; Apify echoes it back in the
``X-Tracking-Run-Token`` header. Format: ``v1.<registry_id>.<issued_at>.<hex HMAC-SHA256>`` where the
MAC covers ``f"{registry_id}.{issued_at}"`` under ``APIFY_WEBHOOK_SIGNING_SECRET``.
"""

from __future__ import annotations

import hashlib
import hmac
import re

RUN_TOKEN_HEADER = "X-Tracking-Run-Token"
TOKEN_VERSION = "v1"

# Registry ids are database keys; restricting them keeps the dot-separated format unambiguous.
_REGISTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ISSUED_AT = re.compile(r"^[0-9]{1,12}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class InvalidRunToken(ValueError):
    """The token is not one we issued. ``reason`` is "malformed", "bad signature" or "expired"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def sign_run_token(*, registry_id: int | str, issued_at: int, secret: str) -> str:
    """Token for one registry row. Raises ValueError on an empty secret or an id that breaks the format."""
    _require_secret(secret)
    rid = str(registry_id)
    if not _REGISTRY_ID.match(rid) or not _ISSUED_AT.match(str(issued_at)):
        raise ValueError("registry_id must be 1-64 of [A-Za-z0-9_-] and issued_at a non-negative integer")
    return f"{TOKEN_VERSION}.{rid}.{int(issued_at)}.{_mac(rid, int(issued_at), secret)}"


def verify_run_token(
    *, token: str, secret: str, max_age_s: int | None = None, now: int | None = None
) -> tuple[str, int]:
    """Return ``(registry_id, issued_at)`` of a token we signed, or raise InvalidRunToken.

    ``registry_id`` comes back as a string (convert it to the key type yourself). The age check runs only
    when ``max_age_s`` and ``now`` are given, and only after the signature is proven.
    """
    _require_secret(secret)
    rid, issued_at, digest = _parse(token)
    if not hmac.compare_digest(digest, _mac(rid, issued_at, secret)):
        raise InvalidRunToken("bad signature")
    if max_age_s is not None and now is not None and now - issued_at > max_age_s:
        raise InvalidRunToken("expired")
    return rid, issued_at


def _parse(token: str) -> tuple[str, int, str]:
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 4 or parts[0] != TOKEN_VERSION:
        raise InvalidRunToken("malformed")
    _, rid, issued_at, digest = parts
    if not (_REGISTRY_ID.match(rid) and _ISSUED_AT.match(issued_at) and _DIGEST.match(digest)):
        raise InvalidRunToken("malformed")
    return rid, int(issued_at), digest


def _mac(registry_id: str, issued_at: int, secret: str) -> str:
    message = f"{registry_id}.{issued_at}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _require_secret(secret: str) -> None:
    # An empty secret would make every token forgeable; refuse rather than sign with it.
    if not secret:
        raise ValueError("APIFY_WEBHOOK_SIGNING_SECRET is empty")
