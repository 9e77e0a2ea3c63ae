"""Who may call the REST API: DRF authentication, permissions and throttles, and the API's audit helper.

Authentication (tried in this order):

- ``DashboardTokenAuthentication``: ``Authorization: Bearer <JWT>`` or the access cookie. Cookie
  requests that change something must pass Django's CSRF check (``csrftoken`` cookie echoed in the
  ``X-CSRFToken`` header); Bearer requests are exempt (a browser never adds that header by itself).
- ``ServiceKeyAuthentication``: ``Authorization: Bearer <service key>``, ``X-API-Key: <service key>``
  or ``X-Internal-Secret: <API_SECRET>``.

Permissions: ``HasGuildAccess`` (the URL's guild is one of the user's guilds, else 404 - never a 403
that would confirm the guild exists; service keys need guilds.read / guilds.write), ``IsGuildAdmin``
(changes need owner or ADMINISTRATOR), ``HasScope`` (bot endpoints: ``required_scopes`` per method).
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.api.ratelimit import IPThrottle, RatelimitThrottle, rate_usage
from core.client_ip import client_ip
from dashboard_auth.auth import DashboardIdentity, bearer_token, identity_from_token
from dashboard_auth.guild_access import access_to
from dashboard_auth.service_keys import (
    ServiceKeyRefused,
    ServicePrincipal,
    principal_for_internal_secret,
    principal_for_key,
)
from dashboard_auth.services import record_security_event
from dashboard_auth.tokens import InvalidAccessToken, looks_like_jwt
from guilds.audit import record_audit

# ---------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


class DashboardTokenAuthentication(BaseAuthentication):
    """Dashboard users: a JWT access token as Bearer header or in the access cookie."""

    def authenticate(self, request):
        bearer = bearer_token(request)
        if bearer is not None:
            if not looks_like_jwt(bearer):
                return None  # a service key: ServiceKeyAuthentication decides
            return self._identity(bearer, via="bearer"), bearer
        cookie = request.COOKIES.get(settings.DASHBOARD_ACCESS_COOKIE_NAME)
        if not cookie:
            return None
        identity = self._identity(cookie, via="cookie")
        self.enforce_csrf(request)
        return identity, None

    @staticmethod
    def _identity(token: str, *, via: str) -> DashboardIdentity:
        try:
            return identity_from_token(token, via=via)
        except InvalidAccessToken as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None

    @staticmethod
    def enforce_csrf(request) -> None:
        if request.method in SAFE_METHODS:
            return
        check = _CSRFCheck(lambda req: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(
                f"CSRF check failed ({reason}). Send the csrftoken cookie's value in the X-CSRFToken header."
            )

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ServiceKeyAuthentication(BaseAuthentication):
    """Service keys (Bearer or X-API-Key) and the internal secret (X-Internal-Secret)."""

    may_refuse_with_429 = True  # an address that keeps presenting invalid keys is refused (OpenAPI)

    def authenticate(self, request):
        internal = request.META.get("HTTP_X_INTERNAL_SECRET")
        bearer = bearer_token(request)
        if bearer and looks_like_jwt(bearer):
            bearer = None  # a dashboard token, not a key: not for this endpoint
        header_key = request.META.get("HTTP_X_API_KEY")
        authorization = request.META.get("HTTP_AUTHORIZATION", "")
        if header_key and authorization and bearer != header_key:
            # Two credentials that disagree: refuse rather than pick one (a proxy or client bug, or a
            # probe hoping the valid one hides the invalid one).
            raise exceptions.AuthenticationFailed(
                "X-API-Key and the Authorization header carry different credentials; send one.",
                code="conflicting_credentials",
            )
        key = header_key or bearer
        if not (internal or key):
            return None
        ip = client_ip(request)
        if wait := _key_guessing_wait(request, ip or "unknown", increment=False):
            # an address that keeps presenting bad keys is refused before any comparison is made
            raise exceptions.Throttled(wait=wait, detail="Too many invalid API keys from this address.")
        try:
            if internal:
                return principal_for_internal_secret(internal), None
            return principal_for_key(key), None
        except ServiceKeyRefused as exc:
            if not _key_guessing_wait(request, ip or "unknown", increment=True):  # past the limit: 429s, not rows
                record_security_event(
                    kind="key_rejected",
                    source=request.path[:40],
                    reason=exc.code + (f" {exc.name}" if exc.name else ""),
                    ip=ip,
                )
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


DEFAULT_AUTHENTICATION = [DashboardTokenAuthentication, ServiceKeyAuthentication]
SERVICE_AUTHENTICATION = [ServiceKeyAuthentication]


class DashboardTokenScheme(OpenApiAuthenticationExtension):
    target_class = DashboardTokenAuthentication
    name = ["dashboardBearer", "dashboardCookie"]

    def get_security_requirement(self, auto_schema):
        return [{"dashboardBearer": []}, {"dashboardCookie": []}]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "Dashboard access token (HS256 JWT, 15 minutes) from Login with Discord.",
            },
            {
                "type": "apiKey",
                "in": "cookie",
                "name": settings.DASHBOARD_ACCESS_COOKIE_NAME,
                "description": "The same access token in its HttpOnly cookie. Unsafe methods need the "
                "X-CSRFToken header (value of the csrftoken cookie).",
            },
        ]


class ServiceKeyScheme(OpenApiAuthenticationExtension):
    target_class = ServiceKeyAuthentication
    name = ["serviceKeyBearer", "serviceKeyHeader", "internalSecret"]

    def get_security_requirement(self, auto_schema):
        return [{"serviceKeyBearer": []}, {"serviceKeyHeader": []}, {"internalSecret": []}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "An API service key from API_SERVICE_KEYS."},
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API service key."},
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Internal-Secret",
                "description": "API_SECRET, for server-side calls (every scope).",
            },
        ]


# ---------------------------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------------------------


def _guild_id(view) -> int:
    return int(view.kwargs["guild_id"])


class IsDashboardUser(BasePermission):
    message = "Log in with Discord to use this endpoint."

    def has_permission(self, request, view):
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        if not isinstance(user, DashboardIdentity):
            raise exceptions.PermissionDenied("This endpoint is for dashboard users, not service keys.")
        return True


class HasGuildAccess(BasePermission):
    """The guild in the URL is one the caller may read (and, for unsafe methods, change)."""

    read_scope = "guilds.read"
    write_scope = "guilds.write"

    def has_permission(self, request, view):
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        if isinstance(user, ServicePrincipal):
            scope = self.read_scope if request.method in SAFE_METHODS else self.write_scope
            if not user.has_scope(scope):
                raise exceptions.PermissionDenied(f"This API key lacks the {scope} scope.")
            return True
        access = access_to(user_id=user.user_id, guild_id=_guild_id(view))
        if access is None:
            raise exceptions.NotFound("No such guild.")
        request.guild_access = access
        return True


class IsGuildAdmin(HasGuildAccess):
    """Reads need guild access; changes need the guild's owner or ADMINISTRATOR."""

    def has_permission(self, request, view):
        super().has_permission(request, view)
        access = getattr(request, "guild_access", None)
        if request.method not in SAFE_METHODS and access is not None and not access.can_admin:
            raise exceptions.PermissionDenied("Only the guild's owner or an administrator can change this.")
        return True


class HasScope(BasePermission):
    """Service keys only, with the scope the view names for the method (``required_scopes``)."""

    def has_permission(self, request, view):
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        if not isinstance(user, ServicePrincipal):
            raise exceptions.PermissionDenied("This endpoint is for service keys.")
        scope = view.required_scopes.get(request.method) or view.required_scopes.get("*")
        if scope is None or not user.has_scope(scope):
            raise exceptions.PermissionDenied(f"This API key lacks the {scope} scope.")
        return True


# ---------------------------------------------------------------------------------------------
# Throttles
# ---------------------------------------------------------------------------------------------


def _key_guessing_wait(request, ip: str, *, increment: bool) -> int | None:
    """Seconds an address must wait after too many invalid keys (RATE_LIMIT_KEY_FAILURES), else None.

    Fails closed: with the counter's cache down, service-key requests are refused (503)."""
    usage = rate_usage(
        request,
        group="auth.key_failures",
        key=f"ip:{ip}",
        rate=settings.RATE_LIMIT_KEY_FAILURES,
        increment=increment,
        fail_closed=True,
    )
    if usage and usage["should_limit"]:
        return max(1, int(usage["time_left"]))
    return None


class RefreshIPThrottle(IPThrottle):
    group = "auth.refresh"
    rate_setting = "RATE_LIMIT_REFRESH"


class BotIPThrottle(IPThrottle):
    group = "bot.ip"
    rate_setting = "RATE_LIMIT_BOT_PER_IP"


class BotKeyThrottle(RatelimitThrottle):
    group = "bot.key"
    rate_setting = "RATE_LIMIT_BOT_PER_KEY"

    def key(self, request):
        user = request.user
        return f"key:{user.name}" if isinstance(user, ServicePrincipal) else None


# ---------------------------------------------------------------------------------------------
# Who did it
# ---------------------------------------------------------------------------------------------


def actor_of(request) -> tuple[str, object | None]:
    user = request.user
    if isinstance(user, DashboardIdentity):
        return user.actor, user.user
    if isinstance(user, ServicePrincipal):
        return user.actor, None
    return "anonymous", None


def audit(request, *, guild_id: int | None, action: str, target_type: str, target_id="", before=None, after=None):
    """One audit entry for a change made through the API (actor, IP and user agent from the request)."""
    actor, actor_user = actor_of(request)
    return record_audit(
        guild_id=guild_id,
        actor=actor,
        actor_user=actor_user,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        request=request,
    )
