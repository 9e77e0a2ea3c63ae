"""Dashboard access tokens: short-lived HS256 JWTs (PyJWT), and the opaque refresh tokens' hashing.

Only HS256 is accepted: the header's ``alg`` is checked before verification and ``algorithms`` is
pinned, so ``alg=none`` and algorithm-confusion tokens are refused. Every token carries ``sub``
(the Django user id), ``sid`` (the DashboardSession it was issued with, checked on each request so a
revoked session's tokens stop working), ``exp``, ``iat``, ``iss`` and ``aud``; ``uid`` and ``name``
(the Discord id and username) spare a query when writing audit entries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.utils import timezone

ALGORITHM = "HS256"
_REQUIRED = ["exp", "iat", "sub", "sid", "iss", "aud"]


class InvalidAccessToken(Exception):
    """The token is expired, tampered with, for another audience, or not ours. ``message`` is safe to show."""

    def __init__(self, message: str, *, code: str = "invalid_token"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: int
    discord_id: str
    username: str
    expires_at: datetime


def issue_access_token(
    *, user_id: int, session_id: int, discord_id: str, username: str, now: datetime | None = None
) -> str:
    """A signed access token valid for JWT_ACCESS_TTL_SECONDS."""
    now = now or timezone.now()
    payload = {
        "sub": str(user_id),
        "sid": str(session_id),
        "uid": discord_id,
        "name": username,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.JWT_ACCESS_TTL_SECONDS)).timestamp()),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
    }
    return jwt.encode(payload, settings.JWT_SECRET, algorithm=ALGORITHM)


def looks_like_jwt(token: str) -> bool:
    """A compact JWS: three base64url parts, the first a JSON header (``eyJ``)."""
    return token.count(".") == 2 and token.startswith("eyJ")


def decode_access_token(token: str) -> AccessClaims:
    """Verify signature, algorithm, expiry, issuer and audience. Raises InvalidAccessToken."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidAccessToken("The access token is malformed.") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidAccessToken("The access token uses an algorithm we do not accept.")
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=[ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            options={"require": _REQUIRED},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidAccessToken("The access token has expired; refresh it.", code="token_expired") from None
    except jwt.PyJWTError:
        raise InvalidAccessToken("The access token is not valid.") from None
    try:
        return AccessClaims(
            user_id=int(claims["sub"]),
            session_id=int(claims["sid"]),
            discord_id=str(claims.get("uid", "")),
            username=str(claims.get("name", "")),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        )
    except (TypeError, ValueError):
        raise InvalidAccessToken("The access token is not valid.") from None


def new_refresh_token() -> str:
    """An opaque refresh token (256 bits). Only its hash is stored."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def successor_refresh_token(token: str) -> str:
    """The refresh token a rotation of ``token`` issues: an HMAC of it under JWT_SECRET.

    Deterministic so a concurrent refresh with the same token (two tabs) can be answered with the
    same pair without storing the raw token; unguessable without both the old token and the secret.
    """
    digest = hmac.new(settings.JWT_SECRET.encode(), b"refresh-successor:" + token.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
