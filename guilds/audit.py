"""The audit log: who changed what in which guild, with before/after, IP and user agent.

Every service that changes something a guild admin or staff member owns writes one entry in the same
transaction as the change. Append-only: the application role cannot update or delete rows.
"""

from __future__ import annotations

from typing import Any

from core.client_ip import client_ip
from guilds.models import DashboardAuditLog


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
