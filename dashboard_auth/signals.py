"""Signals other parts of the project listen to (observability counts rejected webhooks)."""

from django.dispatch import Signal

# Sent for every security event, stored as a new row or added to its window's row's count:
# keyword arguments kind, source, reason, ip.
security_event_recorded = Signal()
