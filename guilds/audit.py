"""The audit log: who changed what in which guild, with before/after, IP and user agent.

Every service that changes something a guild admin or staff member owns writes one entry in the same
transaction as the change. Append-only: the application role cannot update or delete rows.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin

from core.client_ip import client_ip
from guilds.models import DashboardAuditLog, Guild


def record_audit(
    *,
    guild_id: int | None,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request=None,
    actor_user=None,
) -> DashboardAuditLog:
    """Append one audit entry. ``request`` supplies the client IP and user agent when there is one."""
    return DashboardAuditLog.objects.create(
        guild_id=guild_id,
        actor=actor[:120],
        actor_user=actor_user if getattr(actor_user, "pk", None) else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        ip=client_ip(request) if request is not None else None,
        user_agent=(request.headers.get("User-Agent", "")[:300] if request is not None else ""),
    )


_SECRET = re.compile(r"password|secret|token|key", re.IGNORECASE)  # field names never written to the log


def _shown(value: Any) -> Any:
    """A form value as JSON can hold it (model instances by primary key, the rest as text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(getattr(value, "pk", value))


class AuditedAdminMixin(admin.ModelAdmin):
    """Every add, change and delete staff make in Django admin writes an audit entry (who, which
    fields before and after, IP, user agent), in the same transaction as the change."""

    def _audit(self, request, obj, *, verb: str, before=None, after=None) -> None:
        guild_id = obj.pk if isinstance(obj, Guild) else getattr(obj, "guild_id", None)
        record_audit(
            guild_id=guild_id,
            actor=f"staff:{request.user.get_username()}",
            actor_user=request.user,
            action=f"admin.{obj._meta.model_name}.{verb}",
            target_type=obj._meta.model_name,
            target_id=obj.pk,
            before=before,
            after=after,
            request=request,
        )

    def save_model(self, request, obj, form, change):
        changed = [name for name in (form.changed_data if form is not None else []) if not _SECRET.search(name)]
        before = {name: _shown(form.initial.get(name)) for name in changed} if change else None
        super().save_model(request, obj, form, change)
        after = {name: _shown(form.cleaned_data.get(name)) for name in changed}
        if change and not changed and not form.changed_data:
            return
        self._audit(request, obj, verb="change" if change else "add", before=before, after=after)

    def delete_model(self, request, obj):
        self._audit(request, obj, verb="delete", before={"repr": str(obj)[:200]})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, verb="delete", before={"repr": str(obj)[:200]})
        super().delete_queryset(request, queryset)
