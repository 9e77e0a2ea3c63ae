"""Login with Discord and the dashboard's token endpoints under /api/v1/auth/.

    GET|POST /api/v1/auth/discord/login     → 302 to Discord (state kept in the Django session)
    GET      /api/v1/auth/discord/callback  → cookies set, 302 to /dashboard/ (or /?login_error=<code>)
    POST     /api/v1/auth/refresh           → rotate the refresh token, new access token
    POST     /api/v1/auth/logout            → revoke the session's family, clear cookies
    GET      /api/v1/auth/me                → who am I, and my guilds
    GET      /api/v1/auth/sessions          → my live sessions
    DELETE   /api/v1/auth/sessions/{id}     → end one of my sessions (someone else's: 404)

Starting the flow with GET is safe: Discord asks the user to approve every time (prompt=consent),
and the callback only completes with the state bound to this browser's session.
"""

from __future__ import annotations

from urllib.parse import urlencode

import structlog
from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from social_core.actions import do_auth, do_complete
from social_core.exceptions import SocialAuthBaseException
from social_django.utils import load_backend, load_strategy

from core.api.errors import ErrorSerializer, error_body
from core.api.ratelimit import RateLimitUnavailable, rate_limited
from core.client_ip import client_ip
from dashboard_auth.auth import (
    clear_auth_cookies,
    dashboard_user_from_request,
    guilds_for,
    refresh_login,
    set_auth_cookies,
)
from dashboard_auth.drf import DEFAULT_AUTHENTICATION, DashboardTokenAuthentication, IsDashboardUser, RefreshIPThrottle
from dashboard_auth.models import DashboardSession
from dashboard_auth.services import record_security_event
from dashboard_auth.sessions import (
    RefreshRefused,
    active_sessions,
    revoke_by_refresh_token,
    revoke_session,
    start_session,
)

log = structlog.get_logger(__name__)
BACKEND = "discord"


def _backend(request):
    strategy = load_strategy(request)
    redirect_uri = settings.DASHBOARD_OAUTH_CALLBACK or reverse("api-auth-callback")
    request.social_strategy = strategy
    return load_backend(strategy, BACKEND, redirect_uri=redirect_uri)


def _too_many(request) -> JsonResponse | None:
    try:
        wait = rate_limited(
            request,
            group="auth.login",
            key=f"ip:{client_ip(request)}",
            rate=settings.RATE_LIMIT_LOGIN,
            fail_closed=True,
        )
    except RateLimitUnavailable as exc:
        return JsonResponse(error_body(exc.default_code, str(exc.detail)), status=503)
    if wait is None:
        return None
    response = JsonResponse(
        error_body("rate_limited", f"Too many login attempts; try again in {wait} seconds."), status=429
    )
    response["Retry-After"] = str(wait)
    return response


def _login_failed(request, code: str, reason: str) -> HttpResponseRedirect:
    record_security_event(kind="login_failed", source="auth.discord", reason=reason, ip=client_ip(request))
    return HttpResponseRedirect(f"{settings.DASHBOARD_LOGIN_ERROR_URL}?{urlencode({'login_error': code})}")


@never_cache
@csrf_exempt  # see the module docstring: the OAuth state, not a CSRF token, binds the flow
@require_http_methods(["GET", "POST"])
def discord_login(request):
    """Send the browser to Discord's consent screen (scopes identify and guilds)."""
    if limited := _too_many(request):
        return limited
    if not settings.DASHBOARD_DISCORD_CLIENT_ID:
        return _login_failed(request, "not_configured", "DASHBOARD_DISCORD_CLIENT_ID is not set")
    return do_auth(_backend(request), redirect_name="next")


@never_cache
@require_http_methods(["GET"])
def discord_callback(request):
    """Finish Login with Discord: start a dashboard session, set the cookies, go to the dashboard."""
    if limited := _too_many(request):
        return limited
    logged_in = {}

    def _remember(backend, user, social_user):
        logged_in["user"] = user

    try:
        # user=None: a staff member's Django session must never get a Discord identity attached.
        do_complete(_backend(request), _remember, user=None, redirect_name="next", request=request)
    except SocialAuthBaseException as exc:
        return _login_failed(request, exc.code, f"{type(exc).__name__}: {exc.code}")
    user = logged_in.get("user")
    if user is None:
        return _login_failed(request, "inactive_user", "social-auth did not log the user in")
    request.session.cycle_key()  # the OAuth state has served; do not reuse the pre-login session id
    issued = start_session(user=user, request=request)
    response = _continue_to(settings.DASHBOARD_HOME_URL)
    get_token(request)  # sets the csrftoken cookie the dashboard echoes in X-CSRFToken
    return set_auth_cookies(response, issued)


def _continue_to(url: str) -> HttpResponse:
    """A same-origin page that moves on to ``url``.

    The callback request belongs to a navigation that started on discord.com, so a 302 from here
    would reach the dashboard still "cross-site" and browsers would withhold our SameSite=Strict
    cookies: the user would land back on the login page once. A navigation started by our own page
    (meta refresh, or the link) is same-site, so the cookies go with it. No inline script: the CSP
    forbids it."""
    target = escape(url)
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={target}"><title>Signed in</title></head>'
        f'<body><p>Signed in. <a href="{target}">Continue to the dashboard</a>.</p></body></html>'
    )
    return HttpResponse(html, content_type="text/html; charset=utf-8")


# --- token endpoints -------------------------------------------------------------------------

TokenResponse = inline_serializer(
    "TokenResponse",
    {
        "access_token": serializers.CharField(),
        "token_type": serializers.CharField(),
        "expires_in": serializers.IntegerField(),
    },
)


class RefreshRequestSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(
        required=False, max_length=200, help_text="Only for non-browser clients; browsers send the cookie."
    )


class RefreshView(APIView):
    """Exchange the refresh token (cookie, or ``refresh_token`` in the body) for a new pair.

    The refresh token rotates on every call; presenting an old one ends every session of that login.
    The user's guild list is re-checked with Discord.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [RefreshIPThrottle]

    @extend_schema(
        request=RefreshRequestSerializer,
        responses={200: TokenResponse, 401: OpenApiResponse(ErrorSerializer, description="Refresh refused.")},
        tags=["auth"],
    )
    def post(self, request):
        body = RefreshRequestSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        raw = request.COOKIES.get(settings.DASHBOARD_REFRESH_COOKIE_NAME)
        if raw:
            DashboardTokenAuthentication.enforce_csrf(request)
        raw = raw or body.validated_data.get("refresh_token")
        try:
            issued = refresh_login(request._request, raw_token=raw or "")
        except RefreshRefused as exc:
            response = Response(error_body(f"refresh_{exc.code}", exc.message), status=401)
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            return clear_auth_cookies(response)
        data = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": settings.JWT_ACCESS_TTL_SECONDS,
        }
        if not request.COOKIES.get(settings.DASHBOARD_REFRESH_COOKIE_NAME):
            data["refresh_token"] = issued.refresh_token
        return set_auth_cookies(Response(data), issued)


class LogoutView(APIView):
    """End this login (every rotation of its refresh token) and clear the cookies. Idempotent."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [RefreshIPThrottle]

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request):
        identity = dashboard_user_from_request(request._request)
        raw = request.COOKIES.get(settings.DASHBOARD_REFRESH_COOKIE_NAME)
        if raw or (identity is not None and identity.via == "cookie"):
            DashboardTokenAuthentication.enforce_csrf(request)
        if identity is not None:
            revoke_session(user_id=identity.user_id, session_id=identity.session_id, reason="logout")
        elif raw:
            revoke_by_refresh_token(raw_token=raw, reason="logout")
        return clear_auth_cookies(Response(status=status.HTTP_204_NO_CONTENT))


class GuildAccessSerializer(serializers.Serializer):
    guild_id = serializers.CharField(help_text="Discord guild id (a string: snowflakes exceed 2^53).")
    name = serializers.CharField()
    is_owner = serializers.BooleanField()
    can_admin = serializers.BooleanField(help_text="Owner or ADMINISTRATOR: may change budgets, rules, settings.")


class MeSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    discord_id = serializers.CharField()
    username = serializers.CharField()
    session_id = serializers.IntegerField()
    guilds = GuildAccessSerializer(many=True)


class MeView(APIView):
    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [IsDashboardUser]

    @extend_schema(responses={200: MeSerializer}, tags=["auth"])
    def get(self, request):
        me = request.user
        guilds = [{**g.__dict__, "guild_id": str(g.guild_id)} for g in guilds_for(me)]
        return Response(
            MeSerializer(
                {
                    "user_id": me.user_id,
                    "discord_id": me.discord_id,
                    "username": me.username,
                    "session_id": me.session_id,
                    "guilds": guilds,
                }
            ).data
        )


class SessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = DashboardSession
        fields = ["id", "created_at", "last_used_at", "expires_at", "ip", "user_agent", "current"]

    def get_current(self, obj) -> bool:
        return obj.family == self.context.get("current_family")


class SessionListView(APIView):
    """My live sessions (one per login), newest first."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [IsDashboardUser]

    @extend_schema(responses={200: SessionSerializer(many=True)}, tags=["auth"])
    def get(self, request):
        me = request.user
        rows = list(active_sessions(user_id=me.user_id)[:100])
        current = DashboardSession.objects.filter(pk=me.session_id).values_list("family", flat=True).first()
        return Response(SessionSerializer(rows, many=True, context={"current_family": current}).data)


class SessionDetailView(APIView):
    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [IsDashboardUser]

    @extend_schema(responses={204: None}, tags=["auth"])
    def delete(self, request, session_id: int):
        if not revoke_session(user_id=request.user.user_id, session_id=session_id, reason="ended by user"):
            raise NotFound("No such session.")
        return Response(status=status.HTTP_204_NO_CONTENT)
