"""Writes about who did what: the audit log and security events."""

from __future__ import annotations

from typing import Any

import structlog
from django.db import transaction

from core.client_ip import client_ip
from dashboard_auth.models import DashboardAuditLog, SecurityEvent

log = structlog.get_logger("security")


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


def record_security_event(*, kind: str, source: str, reason: str, ip: str | None = None) -> None:
    """One security log line and one row for the security dashboard. Never raises: a failure to
    record must not turn a refused request into a 500."""
    log.warning("security_event", kind=kind, source=source, reason=reason, ip=ip)
    try:
        with transaction.atomic():
            SecurityEvent.objects.create(kind=kind, source=source[:40], reason=reason[:200], ip=ip)
    except Exception:  # the log line above is the record of last resort
        log.exception("security_event_not_stored", kind=kind, source=source)
        return
    from dashboard_auth.alerts import maybe_alert

    maybe_alert(kind=kind, source=source, reason=reason, ip=ip)
