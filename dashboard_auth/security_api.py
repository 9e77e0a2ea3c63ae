"""The security dashboard API (/api/v1/security/...): what operators watch, and the two emergency brakes.

Keys come from the environment and are sent as ``Authorization: Bearer <key>``:

- SECURITY_DASHBOARD_READ_KEYS may list security events (failed logins, rejected webhooks,
  refresh-token reuse, ...) and the active dashboard sessions;
- SECURITY_DASHBOARD_ADMIN_KEYS may also revoke sessions (one, its token family, or every session
  of its user) and API service keys (by name, from API_SERVICE_KEYS).

A missing or unknown key is 401, a read key asking to revoke is 403. Every admin action writes an
audit row (guild_id=None, actor ``security-key:<6 hex of the key's sha256>``) and an ``admin_action``
security event. Token hashes and keys never appear in a response.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from core.client_ip import client_ip
from core.tenancy import rls_bypass
from dashboard_auth.models import DashboardSession, RevokedServiceKey, SecurityEvent
from dashboard_auth.services import record_security_event
from guilds.audit import record_audit

READ, ADMIN = "read", "admin"


# ---------------------------------------------------------------------------------------------
# Authentication and permissions
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SecurityKeyHolder:
    """Who called: the role of the presented key and a short, non-secret fingerprint of it."""

    role: str
    fingerprint: str

    is_authenticated = True

    @property
    def actor(self) -> str:
        return f"security-key:{self.fingerprint}"


def _role_of(presented: str) -> str | None:
    """ADMIN, READ or None. Compares against every configured key (constant time per key, no early exit)."""
    role = None
    for candidate_role, keys in (
        (READ, settings.SECURITY_DASHBOARD_READ_KEYS),
        (ADMIN, settings.SECURITY_DASHBOARD_ADMIN_KEYS),
    ):
        for key in keys:
            if key and hmac.compare_digest(presented.encode(), key.encode()) and role != ADMIN:
                role = candidate_role
    return role


class SecurityKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>`` against the security dashboard's read and admin keys."""

    def authenticate(self, request):
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None  # → 401 "credentials were not provided"
        role = _role_of(presented.strip())
        if role is None:
            record_security_event(
                kind=SecurityEvent.Kind.SERVICE_KEY_REJECTED,
                source="security_api",
                reason="unknown security dashboard key",
                ip=client_ip(request),
            )
            raise exceptions.AuthenticationFailed("This key is not a security dashboard key.")
        fingerprint = hashlib.sha256(presented.strip().encode()).hexdigest()[:6]
        return SecurityKeyHolder(role=role, fingerprint=fingerprint), None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="security"'


class SecurityKeyScheme(OpenApiAuthenticationExtension):
    target_class = SecurityKeyAuthentication
    name = "securityDashboardKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A key from SECURITY_DASHBOARD_READ_KEYS (read) or SECURITY_DASHBOARD_ADMIN_KEYS.",
        }


class CanRead(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, SecurityKeyHolder)


class CanAdminister(BasePermission):
    message = "This action needs a security dashboard admin key."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, SecurityKeyHolder) and request.user.role == ADMIN


class SecurityAPIView(APIView):
    """Errors use the shared shape (REST_FRAMEWORK EXCEPTION_HANDLER: tracking.api_common)."""

    authentication_classes = [SecurityKeyAuthentication]
    permission_classes = [CanRead]


# ---------------------------------------------------------------------------------------------
# Services (writes)
# ---------------------------------------------------------------------------------------------
class RevokeScope:
    SESSION = "session"
    FAMILY = "family"
    USER = "user"
    CHOICES = (SESSION, FAMILY, USER)


def _audit_admin_action(
    *, holder: SecurityKeyHolder, action: str, target_type: str, target_id: str, after: dict, request
) -> None:
    with rls_bypass(reason=f"security dashboard {action}"):  # audit rows without a guild
        record_audit(
            guild_id=None,
            actor=holder.actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            after=after,
            request=request,
        )
    record_security_event(
        kind=SecurityEvent.Kind.ADMIN_ACTION,
        source="security_api",
        reason=f"{holder.actor} {action} {target_type} {target_id}",
        ip=client_ip(request) if request is not None else None,
    )


@transaction.atomic
def revoke_dashboard_sessions(*, session_id: int, scope: str, holder: SecurityKeyHolder, request=None) -> int:
    """Revoke one dashboard session, its whole token family, or every session of its user.

    Returns how many sessions were newly revoked (0 when all were revoked already: idempotent).
    Raises Http404 for an unknown session. Audited.
    """
    session = DashboardSession.objects.filter(pk=session_id).first()
    if session is None:
        raise Http404("No such session.")
    targets = {
        RevokeScope.SESSION: Q(pk=session.pk),
        RevokeScope.FAMILY: Q(family=session.family),
        RevokeScope.USER: Q(user_id=session.user_id),
    }[scope]
    revoked = DashboardSession.objects.filter(targets, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoke_reason=f"revoked by {holder.actor}"[:100]
    )
    _audit_admin_action(
        holder=holder,
        action="revoke_session",
        target_type="dashboard_session",
        target_id=str(session.pk),
        after={"scope": scope, "revoked": revoked},
        request=request,
    )
    return revoked


@transaction.atomic
def revoke_service_key(
    *, name: str, reason: str, holder: SecurityKeyHolder, request=None
) -> tuple[RevokedServiceKey, bool]:
    """Revoke the API service key called ``name`` (from API_SERVICE_KEYS). Idempotent: returns the
    row and whether it was created now. Raises Http404 when no configured key has that name. Audited."""
    if name not in {key_name for key_name, _key, _scopes in settings.API_SERVICE_KEYS}:
        raise Http404("No service key has that name.")
    row, created = RevokedServiceKey.objects.get_or_create(
        name=name, defaults={"revoked_by": holder.actor, "reason": reason[:200]}
    )
    if created:
        _audit_admin_action(
            holder=holder,
            action="revoke_service_key",
            target_type="service_key",
            target_id=name,
            after={"reason": row.reason},
            request=request,
        )
    return row, created


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------
class SecurityEventOut(serializers.ModelSerializer):
    class Meta:
        model = SecurityEvent
        fields = ["id", "kind", "source", "reason", "ip", "created_at"]


class SessionOut(serializers.ModelSerializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.get_username")

    class Meta:
        model = DashboardSession
        fields = ["id", "user_id", "username", "family", "ip", "user_agent", "created_at", "last_used_at", "expires_at"]


class SecurityEventList(SecurityAPIView, ListAPIView):
    """Recent security events, newest first; ``?kind=`` narrows to one kind."""

    serializer_class = SecurityEventOut

    class Filter(serializers.Serializer):
        kind = serializers.ChoiceField(choices=SecurityEvent.Kind.choices, required=False)

    def get_queryset(self) -> QuerySet[SecurityEvent]:
        query = self.Filter(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        events = SecurityEvent.objects.order_by("-created_at", "-id")
        kind = query.validated_data.get("kind")
        return events.filter(kind=kind) if kind else events

    @extend_schema(
        tags=["security"],
        summary="Security events",
        parameters=[OpenApiParameter("kind", enum=SecurityEvent.Kind.values, description="Only this kind.")],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ActiveSessionList(SecurityAPIView, ListAPIView):
    """Dashboard sessions that can still refresh: current token of its family, not revoked, not expired."""

    serializer_class = SessionOut

    class Filter(serializers.Serializer):
        user = serializers.IntegerField(required=False, min_value=1)

    def get_queryset(self) -> QuerySet[DashboardSession]:
        query = self.Filter(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        sessions = (
            DashboardSession.objects.filter(
                revoked_at__isnull=True, rotated_at__isnull=True, expires_at__gt=timezone.now()
            )
            .select_related("user")
            .order_by("-created_at", "-id")
        )
        user = query.validated_data.get("user")
        return sessions.filter(user_id=user) if user else sessions

    @extend_schema(
        tags=["security"],
        summary="Active dashboard sessions",
        parameters=[OpenApiParameter("user", int, description="Only this user's sessions.")],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RevokeSession(SecurityAPIView):
    """Revoke a dashboard session (admin key). Its refresh token stops working at once."""

    permission_classes = [CanAdminister]

    class SessionRevokeInput(serializers.Serializer):
        scope = serializers.ChoiceField(
            choices=RevokeScope.CHOICES,
            default=RevokeScope.SESSION,
            help_text="session: this one; family: its token family; user: all of its user's.",
        )

    @extend_schema(
        tags=["security"],
        summary="Revoke a dashboard session",
        request=SessionRevokeInput,
        responses={200: inline_serializer("SessionRevoked", {"revoked": serializers.IntegerField()})},
    )
    def post(self, request, session_id: int):
        data = self.SessionRevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        revoked = revoke_dashboard_sessions(
            session_id=session_id, scope=data.validated_data["scope"], holder=request.user, request=request
        )
        return Response({"revoked": revoked})


class ServiceKeyList(SecurityAPIView):
    """The configured API service keys by name (never the key) and whether each is revoked."""

    @extend_schema(
        tags=["security"],
        summary="API service keys",
        responses={
            200: inline_serializer(
                "ServiceKeyState",
                {
                    "name": serializers.CharField(),
                    "scopes": serializers.ListField(child=serializers.CharField()),
                    "revoked_at": serializers.DateTimeField(allow_null=True),
                },
                many=True,
            )
        },
    )
    def get(self, request):
        revoked: dict[str, datetime] = dict(RevokedServiceKey.objects.values_list("name", "revoked_at"))
        return Response(
            [
                {"name": name, "scopes": sorted(scopes), "revoked_at": revoked.get(name)}
                for name, _key, scopes in settings.API_SERVICE_KEYS
            ]
        )


class RevokeServiceKey(SecurityAPIView):
    """Revoke an API service key by name (admin key). Idempotent: 201 the first time, then 200."""

    permission_classes = [CanAdminister]

    class ServiceKeyRevokeInput(serializers.Serializer):
        reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)

    @extend_schema(
        tags=["security"],
        summary="Revoke an API service key",
        request=ServiceKeyRevokeInput,
        responses={
            (201, "application/json"): inline_serializer(
                "ServiceKeyRevoked",
                {
                    "name": serializers.CharField(),
                    "revoked_at": serializers.DateTimeField(),
                    "revoked_by": serializers.CharField(),
                    "reason": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request, name: str):
        data = self.ServiceKeyRevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        row, created = revoke_service_key(
            name=name, reason=data.validated_data["reason"], holder=request.user, request=request
        )
        body = {"name": row.name, "revoked_at": row.revoked_at, "revoked_by": row.revoked_by, "reason": row.reason}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
