"""Who may use the dashboard: refresh-token sessions, security events, revoked service keys.

The audit log of what people changed in a guild is the guild's own (guilds.models.DashboardAuditLog)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class DashboardSession(models.Model):
    """One refresh token (stored hashed). Every refresh rotates it within its family; presenting a
    rotated token again revokes the whole family."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboard_sessions")
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    refresh_token_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token.")
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True, help_text="Set when a refresh replaced this token.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "revoked_at", "expires_at"], name="session_active_by_user")]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else ("rotated" if self.rotated_at else "active")
        return f"Session {self.pk} of {self.user} ({state})"


class SecurityEvent(models.Model):
    """A failed login, a rejected webhook, a refresh-token reuse: what the security dashboard lists.

    Repeats are aggregated: the same kind, source and address within SECURITY_EVENT_WINDOW_SECONDS
    add to ``count`` (and move ``last_seen_at``) instead of writing a row each, so a flood of bad
    keys or signatures costs one row per window, not one per request. Purged after
    RETENTION_SECURITY_EVENTS_DAYS (``manage.py purge``)."""

    class Kind(models.TextChoices):
        LOGIN_FAILED = "login_failed"
        WEBHOOK_REJECTED = "webhook_rejected"
        REFRESH_REUSE = "refresh_reuse"
        SERVICE_KEY_REJECTED = "key_rejected"
        ADMIN_ACTION = "admin_action"
        ADMIN_LOCKOUT = "admin_lockout"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.CharField(max_length=40, blank=True, help_text="Which endpoint or integration.")
    reason = models.CharField(max_length=200)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    count = models.PositiveIntegerField(default=1, help_text="Events of this kind, source and address in the window.")
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["kind", "created_at"], name="security_event_kind_time"),
            models.Index(fields=["kind", "source", "ip", "created_at"], name="security_event_repeat"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


class RevokedServiceKey(models.Model):
    """An API service key (from API_SERVICE_KEYS, by name) that an admin revoked at run time."""

    name = models.CharField(max_length=60, unique=True)
    revoked_at = models.DateTimeField(auto_now_add=True)
    revoked_by = models.CharField(max_length=120)
    reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} (revoked {self.revoked_at:%Y-%m-%d})"
