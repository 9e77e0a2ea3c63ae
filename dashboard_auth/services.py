"""Security events: failed logins, rejected webhooks and keys, refresh-token reuse."""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Subquery
from django.utils import timezone

from dashboard_auth.alerts import maybe_alert
from dashboard_auth.models import SecurityEvent
from dashboard_auth.signals import security_event_recorded

log = structlog.get_logger("security")


def record_security_event(*, kind: str, source: str, reason: str, ip: str | None = None) -> None:
    """One security log line and one row for the security dashboard. Never raises: a failure to
    record must not turn a refused request into a 500."""
    log.warning("security_event", kind=kind, source=source, reason=reason, ip=ip)
    try:
        _store(kind=kind, source=source[:40], reason=reason[:200], ip=ip)
    except Exception:  # the log line above is the record of last resort
        log.exception("security_event_not_stored", kind=kind, source=source)
        return
    security_event_recorded.send(sender=SecurityEvent, kind=kind, source=source, reason=reason, ip=ip)
    maybe_alert(kind=kind, source=source, reason=reason, ip=ip)


def _store(*, kind: str, source: str, reason: str, ip: str | None) -> None:
    """Add to the window's row for this kind, source and address, or start one."""
    now = timezone.now()
    window_start = now - timedelta(seconds=settings.SECURITY_EVENT_WINDOW_SECONDS)
    with transaction.atomic():
        latest = (
            SecurityEvent.objects.filter(kind=kind, source=source, ip=ip, created_at__gte=window_start)
            .order_by("-created_at")
            .values("pk")[:1]
        )
        added = SecurityEvent.objects.filter(pk__in=Subquery(latest)).update(
            count=F("count") + 1, last_seen_at=now, reason=reason
        )
        if not added:
            SecurityEvent.objects.create(kind=kind, source=source, reason=reason, ip=ip, last_seen_at=now)
