"""Who is calling, for the REST API and for plain Django views (the server-rendered dashboard).

    identity = dashboard_user_from_request(request)     # DashboardIdentity | None
    @dashboard_login_required                           # redirects to "/" when not logged in
    def page(request): ... request.dashboard_user ...
    guilds_for(identity)                                # [GuildAccess(guild_id, name, is_owner, can_admin)]

The access token comes from ``Authorization: Bearer <jwt>`` or the access cookie; its session
(``sid``) must still be live (one indexed query). ``dashboard_login_required`` also refreshes an
expired access token transparently on GET when the refresh cookie is valid, so pages do not bounce
their users to the login every 15 minutes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect

from dashboard_auth.guild_access import (
    GuildAccess,
    RecheckOutcome,
    access_to,
    forget_guilds,
    guilds_for_user,
    recheck_guilds,
)
from dashboard_auth.sessions import IssuedTokens, RefreshRefused, revoke_family, rotate_refresh_token, session_is_active
from dashboard_auth.tokens import InvalidAccessToken, decode_access_token, looks_like_jwt

__all__ = [
    "DashboardIdentity",
    "GuildAccess",
    "access_to",
    "clear_auth_cookies",
    "dashboard_login_required",
    "dashboard_user_from_request",
    "guilds_for",
    "identity_from_token",
    "refresh_login",
    "set_auth_cookies",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DashboardIdentity:
    """A guild admin logged in with Discord, as proven by a live access token."""

    user_id: int
    session_id: int
    discord_id: str
    username: str
    via: str  # "cookie" or "bearer"

    is_authenticated = True
    kind = "dashboard"

    @property
    def actor(self) -> str:
        return f"discord:{self.discord_id} {self.username}".strip()

    @property
    def user(self):
        """The Django user, without a query (enough for foreign keys such as audit actor_user)."""
        return get_user_model()(pk=self.user_id)


def identity_from_token(token: str, *, via: str) -> DashboardIdentity:
    """Verify an access token and its session. Raises InvalidAccessToken."""
    claims = decode_access_token(token)
    if not session_is_active(session_id=claims.session_id, user_id=claims.user_id):
        raise InvalidAccessToken("This session was ended; log in again.", code="session_revoked")
    return DashboardIdentity(claims.user_id, claims.session_id, claims.discord_id, claims.username, via)


def bearer_token(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def dashboard_user_from_request(request) -> DashboardIdentity | None:
    """The logged-in dashboard user, or None (no token, or an invalid, expired or revoked one)."""
    if hasattr(request, "_dashboard_identity"):
        return request._dashboard_identity
    identity = None
    bearer = bearer_token(request)
    token, via = (bearer, "bearer") if bearer and looks_like_jwt(bearer) else (None, "")
    if token is None and not bearer:
        token, via = request.COOKIES.get(settings.DASHBOARD_ACCESS_COOKIE_NAME), "cookie"
    if token:
        try:
            identity = identity_from_token(token, via=via)
        except InvalidAccessToken:
            identity = None
    request._dashboard_identity = identity
    return identity


def guilds_for(identity: DashboardIdentity) -> list[GuildAccess]:
    """The guilds this user may open (owner, ADMINISTRATOR or MANAGE_GUILD, and known to us)."""
    return guilds_for_user(user_id=identity.user_id)


def refresh_login(request, *, raw_token: str) -> IssuedTokens:
    """Rotate the refresh token and re-check the user's guilds with Discord. Raises RefreshRefused.

    A Discord token that Discord now refuses (401) ends the session: the new family is revoked.
    A transient Discord failure keeps the cached guild list.
    """
    issued = rotate_refresh_token(raw_token=raw_token, request=request)
    outcome = recheck_guilds(user_id=issued.session.user_id)
    if outcome is RecheckOutcome.TOKEN_REVOKED:
        revoke_family(family=issued.session.family, reason="discord token revoked")
        forget_guilds(user_id=issued.session.user_id)
        raise RefreshRefused("discord_revoked", "Discord no longer accepts this login; log in with Discord again.")
    return issued


def _cookie_options() -> dict:
    return {
        "httponly": True,
        "secure": not settings.DEBUG or settings.DASHBOARD_SESSION_COOKIE_SAMESITE == "None",
        "samesite": settings.DASHBOARD_SESSION_COOKIE_SAMESITE,
        "path": "/",
    }


def set_auth_cookies(response, issued: IssuedTokens):
    opts = _cookie_options()
    response.set_cookie(
        settings.DASHBOARD_ACCESS_COOKIE_NAME, issued.access_token, max_age=settings.JWT_ACCESS_TTL_SECONDS, **opts
    )
    if issued.refresh_token:
        response.set_cookie(
            settings.DASHBOARD_REFRESH_COOKIE_NAME,
            issued.refresh_token,
            max_age=settings.REFRESH_TOKEN_TTL_SECONDS,
            **opts,
        )
    return response


def clear_auth_cookies(response):
    opts = _cookie_options()
    for name in (settings.DASHBOARD_ACCESS_COOKIE_NAME, settings.DASHBOARD_REFRESH_COOKIE_NAME):
        response.delete_cookie(name, path=opts["path"], samesite=opts["samesite"])
    return response


def dashboard_login_required(view):
    """Plain Django views: ``request.dashboard_user`` is set, or the browser goes to "/" to log in."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        identity = dashboard_user_from_request(request)
        issued = None
        refresh = request.COOKIES.get(settings.DASHBOARD_REFRESH_COOKIE_NAME)
        if identity is None and refresh and request.method in ("GET", "HEAD"):
            try:
                issued = refresh_login(request, raw_token=refresh)
                identity = identity_from_token(issued.access_token, via="cookie")
            except (RefreshRefused, InvalidAccessToken):
                identity = None
        if identity is None:
            return clear_auth_cookies(HttpResponseRedirect("/"))
        request.dashboard_user = identity
        response = view(request, *args, **kwargs)
        return set_auth_cookies(response, issued) if issued else response

    return wrapper
