"""Shared pieces of the REST API: the one error shape, authentication, permissions, pagination,
rate limits, OpenAPI documentation helpers and JSON 404/500 handlers for /api/ paths.

Every error is ``{"error": {"code": str, "message": str, "fields": {field: [message, ...]}}}``.

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

from datetime import date, datetime, time, timedelta

import structlog
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django_ratelimit.core import get_usage
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import BaseThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from dashboard_auth.auth import DashboardIdentity, bearer_token, identity_from_token
from dashboard_auth.guild_access import access_to
from dashboard_auth.service_keys import (
    ServiceKeyRefused,
    ServicePrincipal,
    principal_for_internal_secret,
    principal_for_key,
)
from dashboard_auth.services import record_audit, record_security_event
from dashboard_auth.tokens import InvalidAccessToken, looks_like_jwt
from metrics.selectors import PERIODS as NAMED_PERIODS
from tracking.client_ip import client_ip

log = structlog.get_logger(__name__)

# ---------------------------------------------------------------------------------------------
# The error shape
# ---------------------------------------------------------------------------------------------


class ApiError(exceptions.APIException):
    """An error with our own code and, optionally, per-field messages."""

    def __init__(self, message: str, *, code: str, status: int = 400, fields: dict | None = None):
        super().__init__(detail=message, code=code)
        self.status_code = status
        self.error_code = code
        self.fields = fields or {}


class Conflict(ApiError):
    def __init__(self, message: str, *, code: str = "conflict", fields: dict | None = None):
        super().__init__(message, code=code, status=409, fields=fields)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable reason, e.g. not_found, invalid, rate_limited.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per-field messages for invalid input (empty otherwise).",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"field" or "field.sub": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out[prefix or "non_field_errors"] = [str(v) for v in detail]
        else:
            for i, value in enumerate(detail):
                out.update(_flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc, context):
    """DRF's handler, reshaped to the one error shape. Unknown exceptions propagate (→ 500 handler)."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=serializers.as_serializer_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()), None)
        message = (
            f"{first[0]}: {first[1][0]}"
            if first and first[0] != "non_field_errors"
            else (first[1][0] if first else "The request is not valid.")
        )
        body = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        body = error_body("rate_limited", f"Too many requests; try again in {wait} seconds.")
        response["Retry-After"] = str(max(1, wait))
    else:
        code = getattr(exc, "default_code", None) or _CODES.get(response.status_code, "error")
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, str):
            code = codes
        body = error_body(code, str(exc.detail) if hasattr(exc, "detail") else str(exc))
    response.data = body
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    """JSON 404 for /api/ paths (wire as ``handler404`` in the root URLconf); HTML elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    """JSON 500 for /api/ paths; the traceback is logged, never sent."""
    if _is_api(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side; it was logged."), status=500)
    from django.views.defaults import server_error

    return server_error(request)


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

    def authenticate(self, request):
        internal = request.META.get("HTTP_X_INTERNAL_SECRET")
        bearer = bearer_token(request)
        if bearer and looks_like_jwt(bearer):
            bearer = None  # a dashboard token, not a key: not for this endpoint
        key = request.META.get("HTTP_X_API_KEY") or bearer
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
# Pagination
# ---------------------------------------------------------------------------------------------


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


# ---------------------------------------------------------------------------------------------
# Rate limits (django-ratelimit counters on the shared cache, exposed as DRF throttles so the
# 429 carries Retry-After and the error shape)
# ---------------------------------------------------------------------------------------------


def rate_limited(request, *, group: str, key: str, rate: str) -> int | None:
    """Count one hit; return seconds to wait when over ``rate``, else None."""
    usage = get_usage(request, group=group, key=lambda g, r: key, rate=rate, increment=True)
    if usage and usage["should_limit"]:
        return max(1, int(usage["time_left"]))
    return None


def _key_guessing_wait(request, ip: str, *, increment: bool) -> int | None:
    """Seconds an address must wait after too many invalid keys (RATE_LIMIT_KEY_FAILURES), else None."""
    usage = get_usage(
        request,
        group="auth.key_failures",
        key=lambda g, r: f"ip:{ip}",
        rate=settings.RATE_LIMIT_KEY_FAILURES,
        increment=increment,
    )
    if usage and usage["should_limit"]:
        return max(1, int(usage["time_left"]))
    return None


class _RatelimitThrottle(BaseThrottle):
    group = ""
    rate_setting = ""

    def key(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view):
        key = self.key(request)
        if key is None:
            return True
        self._wait = rate_limited(request, group=self.group, key=key, rate=getattr(settings, self.rate_setting))
        return self._wait is None

    def wait(self):
        return self._wait


class IPThrottle(_RatelimitThrottle):
    def key(self, request):
        return f"ip:{client_ip(request) or 'unknown'}"


class RefreshIPThrottle(IPThrottle):
    group = "auth.refresh"
    rate_setting = "RATE_LIMIT_REFRESH"


class BotIPThrottle(IPThrottle):
    group = "bot.ip"
    rate_setting = "RATE_LIMIT_BOT_PER_IP"


class BotKeyThrottle(_RatelimitThrottle):
    group = "bot.key"
    rate_setting = "RATE_LIMIT_BOT_PER_KEY"

    def key(self, request):
        user = request.user
        return f"key:{user.name}" if isinstance(user, ServicePrincipal) else None


# ---------------------------------------------------------------------------------------------
# OpenAPI: every operation documents its errors in the one shape
# ---------------------------------------------------------------------------------------------

_ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `fields` says which.",
    "401": "Missing, invalid, expired or revoked credentials.",
    "403": "Authenticated, but not allowed (missing scope, not a guild administrator, CSRF).",
    "404": "Not found - also for another guild's objects and guilds you cannot access.",
    "409": "Conflicts with the current state.",
    "429": "Rate limited; see Retry-After.",
}


class ApiAutoSchema(AutoSchema):
    """Adds the error responses (one shape) each operation can give."""

    def _error_codes(self) -> list[str]:
        codes = ["400"]
        if self.view.get_authenticators():
            codes += ["401", "403"]
        if "{" in self.path or self.view.get_authenticators():
            codes.append("404")
        if self.method not in SAFE_METHODS:
            codes.append("409")
        # throttled endpoints, and any endpoint taking service keys (an address that keeps presenting
        # invalid keys is refused with 429 before authentication)
        if self.view.get_throttles() or any(
            isinstance(a, ServiceKeyAuthentication) for a in self.view.get_authenticators()
        ):
            codes.append("429")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = _ERROR_DESCRIPTIONS[code]
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) == "429":
            headers["Retry-After"] = {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        return headers


# ---------------------------------------------------------------------------------------------
# Periods and audit
# ---------------------------------------------------------------------------------------------

PERIODS = tuple(NAMED_PERIODS)


class PeriodQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=PERIODS, required=False, help_text="Named period in the guild's time zone."
    )
    start = serializers.DateField(required=False, help_text="First day (inclusive), instead of period.")
    end = serializers.DateField(required=False, help_text="Last day (inclusive), instead of period.")

    def validate(self, attrs):
        if ("start" in attrs) != ("end" in attrs):
            raise serializers.ValidationError({"end" if "start" in attrs else "start": "Give both start and end."})
        if "start" in attrs and "period" in attrs:
            raise serializers.ValidationError({"period": "Give either period or start and end, not both."})
        if "start" in attrs:
            if attrs["end"] < attrs["start"]:
                raise serializers.ValidationError({"end": "end must not be before start."})
            if (attrs["end"] - attrs["start"]).days > 3660:
                raise serializers.ValidationError({"end": "The range can be at most ten years."})
        return attrs


def period_window(
    params: dict, *, tz, now: datetime | None = None, default: str = "week"
) -> tuple[str, datetime, datetime]:
    """(label, start, end) for validated PeriodQuerySerializer data, in the guild's time zone."""
    from metrics.selectors import period_bounds

    now = now or timezone.now()
    if "start" in params:
        start = datetime.combine(params["start"], time.min, tzinfo=tz)
        end = datetime.combine(params["end"] + timedelta(days=1), time.min, tzinfo=tz)
        return "custom", start, end
    period = params.get("period") or default
    start, end = period_bounds(period=period, now=now, tz=tz)
    return period, start, end


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


def as_json(value):
    """Model values → JSON-safe values for audit before/after."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def snapshot(instance, fields) -> dict:
    return {f: as_json(getattr(instance, f)) for f in fields}


def postprocess_id_parameters(result, generator, request, public):
    """drf-spectacular hook: integer ids in paths are 1..10^18-1 (what the ``id`` URL converter
    accepts), so clients and fuzzers know the range."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for param in operation.get("parameters", []):
                schema = param.get("schema", {})
                if param.get("in") == "path" and schema.get("type") == "integer":
                    schema.update({"minimum": 1, "maximum": 10**18 - 1})
    return result
