"""Security events: failed logins, rejected webhooks and keys, refresh-token reuse."""

from __future__ import annotations

import structlog
from django.db import transaction

from dashboard_auth.alerts import maybe_alert
from dashboard_auth.models import SecurityEvent

log = structlog.get_logger("security")


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
    maybe_alert(kind=kind, source=source, reason=reason, ip=ip)
