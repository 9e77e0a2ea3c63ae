"""Security events are aggregated: a flood of the same refusal from one address is one row with a count."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dashboard_auth.models import SecurityEvent
from dashboard_auth.services import record_security_event

pytestmark = pytest.mark.django_db


def test_repeats_within_the_window_add_to_one_row(settings):
    settings.SECURITY_EVENT_WINDOW_SECONDS = 60
    for i in range(400):
        record_security_event(kind="key_rejected", source="/api/v1/bot", reason=f"unknown_key {i}", ip="203.0.113.9")
    row = SecurityEvent.objects.get()
    assert row.count == 400 and row.reason == "unknown_key 399" and row.last_seen_at is not None


def test_another_address_kind_or_window_starts_a_row(settings):
    settings.SECURITY_EVENT_WINDOW_SECONDS = 60
    record_security_event(kind="key_rejected", source="bot", reason="x", ip="203.0.113.9")
    record_security_event(kind="key_rejected", source="bot", reason="x", ip="203.0.113.10")
    record_security_event(kind="login_failed", source="bot", reason="x", ip="203.0.113.9")
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        record_security_event(kind="key_rejected", source="bot", reason="x", ip="203.0.113.9")
    assert SecurityEvent.objects.count() == 4
    assert sum(SecurityEvent.objects.values_list("count", flat=True)) == 4
