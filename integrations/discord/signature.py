"""Ed25519 verification of Discord's HTTP interactions.

Discord signs every request to the interactions endpoint with the application's key pair:
``X-Signature-Ed25519`` is the hex signature of ``X-Signature-Timestamp + raw body``. Discord
sends deliberately bad signatures to check the endpoint, so every failure here must end in a 401.
"""

from __future__ import annotations

import time
from functools import lru_cache

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

SIGNATURE_HEADER = "X-Signature-Ed25519"
TIMESTAMP_HEADER = "X-Signature-Timestamp"

_PUBLIC_KEY_BYTES = 32
_SIGNATURE_BYTES = 64


class InvalidSignature(ValueError):
    """The request does not prove it comes from Discord. ``reason`` is a stable code:
    ``missing_headers``, ``not_hex``, ``bad_length``, ``bad_signature``, ``bad_timestamp``, ``stale``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def check_public_key(public_key_hex: str) -> None:
    """Raise ``ValueError`` naming DISCORD_PUBLIC_KEY unless it is a 32-byte hex Ed25519 key.

    Meant for start-up checks: a bad configured key is our fault, not the caller's.
    """
    _verify_key(public_key_hex)


def verify_interaction(
    *,
    public_key_hex: str,
    signature_hex: str | None,
    timestamp: str | None,
    body: bytes,
    tolerance_s: int | None = None,
    now: float | None = None,
) -> None:
    """Return if ``body`` was signed by the application's key at ``timestamp``; else raise.

    Raises ``InvalidSignature`` for anything the sender got wrong (answer 401), and a plain
    ``ValueError`` if ``public_key_hex`` itself is malformed (a configuration error).
    ``tolerance_s`` (off by default, Discord does not require it) also rejects a correctly signed
    request whose timestamp is further than that from ``now`` - a replayed capture.
    """
    key = _verify_key(public_key_hex)
    if not signature_hex or not timestamp:
        raise InvalidSignature("missing_headers", f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required")
    signature = _signature_bytes(signature_hex)
    try:
        key.verify(timestamp.encode() + body, signature)
    except BadSignatureError:
        raise InvalidSignature("bad_signature", "signature does not match the body") from None
    if tolerance_s is not None:
        _check_age(timestamp, tolerance_s=tolerance_s, now=time.time() if now is None else now)


@lru_cache(maxsize=8)
def _verify_key(public_key_hex: str) -> VerifyKey:
    try:
        raw = bytes.fromhex(public_key_hex)
    except (ValueError, TypeError):
        raise ValueError("DISCORD_PUBLIC_KEY must be the application's public key in hex") from None
    if len(raw) != _PUBLIC_KEY_BYTES:
        raise ValueError(f"DISCORD_PUBLIC_KEY must be {_PUBLIC_KEY_BYTES} bytes ({len(raw)} given)")
    return VerifyKey(raw)


def _signature_bytes(signature_hex: str) -> bytes:
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        raise InvalidSignature("not_hex", f"{SIGNATURE_HEADER} is not hex") from None
    if len(signature) != _SIGNATURE_BYTES:
        raise InvalidSignature("bad_length", f"{SIGNATURE_HEADER} must be {_SIGNATURE_BYTES} bytes")
    return signature


def _check_age(timestamp: str, *, tolerance_s: int, now: float) -> None:
    if not timestamp.isascii() or not timestamp.isdigit():
        raise InvalidSignature("bad_timestamp", f"{TIMESTAMP_HEADER} is not a unix time in seconds")
    if abs(now - int(timestamp)) > tolerance_s:
        raise InvalidSignature("stale", f"{TIMESTAMP_HEADER} is more than {tolerance_s}s from now")
