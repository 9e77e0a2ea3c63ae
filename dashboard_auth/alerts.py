"""Security alerts to SECURITY_ALERT_WEBHOOK_URL. Filled in by the Discord notifications work; until
then an alert is the security log line that record_security_event already wrote."""

from __future__ import annotations


def maybe_alert(*, kind: str, source: str, reason: str, ip: str | None) -> None:
    """Send a rate-limited alert for bursts of ``kind`` events (no-op until alerts are wired)."""
    return None
