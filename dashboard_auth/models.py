"""Who may use the dashboard and what they did: refresh-token sessions, the audit log, security events."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from guilds.models import Guild


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


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):  # pragma: no cover - guarded for safety
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


class DashboardAuditLog(models.Model):
    """Who changed what in which guild, with before/after, IP and user agent. Append-only."""

    guild = models.ForeignKey(Guild, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_log")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=120, help_text='"discord:1234 alice", "staff:bob", "service:bot".')
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["guild", "created_at"], name="audit_by_guild")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_type} {self.target_id}".strip()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")


class SecurityEvent(models.Model):
    """A failed login, a rejected webhook, a refresh-token reuse: what the security dashboard lists."""

    class Kind(models.TextChoices):
        LOGIN_FAILED = "login_failed"
        WEBHOOK_REJECTED = "webhook_rejected"
        REFRESH_REUSE = "refresh_reuse"
        SERVICE_KEY_REJECTED = "key_rejected"
        ADMIN_ACTION = "admin_action"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.CharField(max_length=40, blank=True, help_text="Which endpoint or integration.")
    reason = models.CharField(max_length=200)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "created_at"], name="security_event_kind_time")]

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
