"""Test-only signing for Discord interactions: a frozen key pair and the sender's side of Ed25519."""

from __future__ import annotations

from nacl.signing import SigningKey

# A fixed seed so every run (and every test module that imports this) sees the same key pair.
SEED = bytes(range(32))
SIGNING_KEY = SigningKey(SEED)
PUBLIC_KEY_HEX = SIGNING_KEY.verify_key.encode().hex()


def sign_for_tests(signing_key: SigningKey, timestamp: str, body: bytes) -> str:
    """The hex ``X-Signature-Ed25519`` Discord would send for ``body`` at ``timestamp``."""
    return signing_key.sign(timestamp.encode() + body).signature.hex()


def signed_headers(body: bytes, *, timestamp: str = "1700000000", key: SigningKey = SIGNING_KEY) -> dict[str, str]:
    """Request headers for a correctly signed interaction (for view tests)."""
    return {"X-Signature-Ed25519": sign_for_tests(key, timestamp, body), "X-Signature-Timestamp": timestamp}
