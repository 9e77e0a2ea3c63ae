"""Dashboard sessions: refresh tokens stored hashed, rotated on every use, reuse revokes the family.

A *family* is one login: each refresh marks the presented row rotated and adds a new row to the same
family. Presenting a rotated token again means two parties hold it (a stolen cookie), so the whole
family is revoked and a ``refresh_reuse`` security event is recorded.

Two tabs refreshing at once both present the same token. For REFRESH_REUSE_GRACE_SECONDS after a
rotation the just-rotated token answers again with the *same* new pair, as long as that pair is still
the family's current one: the successor refresh token is derived from the old one with an HMAC
(``successor_refresh_token``), so it can be recomputed without storing it, and the access token is
re-signed with the rotation's timestamp, so it is byte-identical. Anything older, or a replay after
the successor itself rotated, is reuse. Revoking a family also kills
its access tokens: every request checks the token's ``sid`` row (``session_is_active``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.client_ip import client_ip
from dashboard_auth.models import DashboardSession
from dashboard_auth.services import record_security_event
from dashboard_auth.tokens import (
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
    successor_refresh_token,
)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str = ""
    session: DashboardSession | None = None

    def __repr__(self) -> str:  # the tokens never reach a log line
        return f"IssuedTokens(session={getattr(self.session, 'pk', None)})"


class RefreshRefused(Exception):
    """The refresh token cannot be used. ``code``: missing, invalid, expired, revoked, reused."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _discord_identity(user) -> tuple[str, str]:
    social = user.social_auth.filter(provider="discord").only("uid").first()
    return (social.uid if social else ""), user.get_username()


def _new_row(*, user, family: uuid.UUID, request, now: datetime, raw: str) -> tuple[DashboardSession, str]:
    row = DashboardSession.objects.create(
        user=user,
        family=family,
        refresh_token_hash=hash_refresh_token(raw),
        user_agent=(request.headers.get("User-Agent", "")[:300] if request is not None else ""),
        ip=client_ip(request) if request is not None else None,
        expires_at=now + timedelta(seconds=settings.REFRESH_TOKEN_TTL_SECONDS),
        last_used_at=now,
    )
    return row, raw


def _issue(row: DashboardSession, raw: str, user, now: datetime) -> IssuedTokens:
    discord_id, username = _discord_identity(user)
    access = issue_access_token(user_id=user.pk, session_id=row.pk, discord_id=discord_id, username=username, now=now)
    return IssuedTokens(access_token=access, refresh_token=raw, session=row)


def start_session(*, user, request=None, now: datetime | None = None) -> IssuedTokens:
    """A new login: a new family with its first refresh token, and an access token for it."""
    now = now or timezone.now()
    row, raw = _new_row(user=user, family=uuid.uuid4(), request=request, now=now, raw=new_refresh_token())
    return _issue(row, raw, user, now)


def rotate_refresh_token(*, raw_token: str, request=None, now: datetime | None = None) -> IssuedTokens:
    """Exchange a refresh token for a new pair (same family). Raises RefreshRefused.

    Reuse of a rotated token revokes the whole family (committed even though we refuse) and records
    a security event.
    """
    now = now or timezone.now()
    if not raw_token:
        raise RefreshRefused("missing", "No refresh token was sent; log in again.")
    refusal: RefreshRefused | None = None
    with transaction.atomic():
        row = (
            DashboardSession.objects.select_for_update()
            .select_related("user")
            .filter(refresh_token_hash=hash_refresh_token(raw_token))
            .first()
        )
        if row is None:
            refusal = RefreshRefused("invalid", "The refresh token is not valid; log in again.")
        elif row.revoked_at is not None:
            refusal = RefreshRefused("revoked", "This session was ended; log in again.")
        elif row.rotated_at is not None and (replay := _grace_replay(row, raw_token, now)) is not None:
            issued = replay
        elif row.rotated_at is not None:
            revoke_family(family=row.family, reason="refresh token reused", now=now)
            refusal = RefreshRefused(
                "reused", "This refresh token was already used; every session of this login ended."
            )
        elif row.expires_at <= now or not row.user.is_active:
            refusal = RefreshRefused("expired", "The session has expired; log in again.")
        else:
            row.rotated_at = now
            row.last_used_at = now
            row.save(update_fields=["rotated_at", "last_used_at"])
            raw = successor_refresh_token(raw_token)
            new_row, raw = _new_row(user=row.user, family=row.family, request=request, now=now, raw=raw)
            issued = _issue(new_row, raw, row.user, now)
    if refusal is not None:
        if refusal.code == "reused":
            record_security_event(
                kind="refresh_reuse",
                source="auth.refresh",
                reason=f"rotated refresh token of session family {row.family} presented again; family revoked",
                ip=client_ip(request) if request is not None else None,
            )
        raise refusal
    return issued


def _grace_replay(row: DashboardSession, raw_token: str, now: datetime) -> IssuedTokens | None:
    """The pair the rotation of ``row`` issued, when ``row`` was rotated moments ago (two tabs, one
    token) and that pair is still current; None means reuse."""
    if now - row.rotated_at > timedelta(seconds=settings.REFRESH_REUSE_GRACE_SECONDS):
        return None
    raw = successor_refresh_token(raw_token)
    successor = DashboardSession.objects.filter(
        refresh_token_hash=hash_refresh_token(raw),
        family=row.family,
        rotated_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).first()
    if successor is None:
        return None
    return _issue(successor, raw, row.user, row.rotated_at)


def revoke_family(*, family: uuid.UUID, reason: str, now: datetime | None = None) -> int:
    """End every session of one login. Idempotent; returns how many rows changed."""
    return DashboardSession.objects.filter(family=family, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now(), revoke_reason=reason[:100]
    )


def revoke_session(*, user_id: int, session_id: int, reason: str) -> bool:
    """End one of the user's sessions (its whole family). False when it is not theirs or unknown."""
    family = DashboardSession.objects.filter(pk=session_id, user_id=user_id).values_list("family", flat=True).first()
    if family is None:
        return False
    revoke_family(family=family, reason=reason)
    return True


def revoke_by_refresh_token(*, raw_token: str, reason: str) -> bool:
    family = (
        DashboardSession.objects.filter(refresh_token_hash=hash_refresh_token(raw_token))
        .values_list("family", flat=True)
        .first()
    )
    if family is None:
        return False
    revoke_family(family=family, reason=reason)
    return True


def active_sessions(*, user_id: int, now: datetime | None = None):
    """The user's live sessions: the current (not rotated) row of each unrevoked, unexpired family."""
    return DashboardSession.objects.filter(
        user_id=user_id, revoked_at__isnull=True, rotated_at__isnull=True, expires_at__gt=now or timezone.now()
    ).order_by("-created_at")


def session_is_active(*, session_id: int, user_id: int) -> bool:
    """One primary-key query: the access token's session exists, is the user's, and is not revoked."""
    return DashboardSession.objects.filter(
        pk=session_id, user_id=user_id, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()
