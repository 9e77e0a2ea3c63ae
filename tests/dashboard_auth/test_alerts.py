"""Security alerts: bursts only, refresh-token reuse always, one alert per kind per cooldown."""

import json

import pytest
import responses

from dashboard_auth.alerts import maybe_alert
from dashboard_auth.services import record_security_event
from tests.helpers.discord import ALERT_WEBHOOK

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("discord_settings")]
ALERT_API = "https://discord.com/api/v10/webhooks/1555555555555555555/alert-token"


@pytest.fixture
def alerts(settings):
    settings.SECURITY_ALERT_WEBHOOK_URL = ALERT_WEBHOOK
    settings.SECURITY_ALERT_BURST_THRESHOLD = 3
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(ALERT_API, json={"id": "1"})
        yield mock


def _fire(kind, n):
    return [maybe_alert(kind=kind, source="discord", reason="bad_signature", ip="203.0.113.9") for _ in range(n)]


def test_a_burst_alerts_once_then_cools_down(alerts):
    assert _fire("webhook_rejected", 10) == [False, False, True] + [False] * 7
    assert len(alerts.calls) == 1
    embed = json.loads(alerts.calls[0].request.body)["embeds"][0]
    assert embed["title"].startswith("Security: 3 × webhook rejected")
    assert json.loads(alerts.calls[0].request.body)["allowed_mentions"] == {"parse": []}


def test_after_the_cooldown_the_next_alert_counts_what_was_suppressed(alerts):
    from django.core.cache import cache

    _fire("login_failed", 5)
    cache.delete("security-alert:cooldown:login_failed")
    assert _fire("login_failed", 1) == [True]
    fields = json.loads(alerts.calls[-1].request.body)["embeds"][0]["fields"]
    assert {"name": "Not alerted during the cooldown", "value": "2", "inline": True} in fields


def test_refresh_token_reuse_alerts_on_the_first_event(alerts):
    assert _fire("refresh_reuse", 2) == [True, False]


def test_kinds_cool_down_separately(alerts):
    assert _fire("refresh_reuse", 1) == [True]
    assert _fire("webhook_rejected", 3)[-1] is True


def test_no_webhook_url_means_no_alert(settings, alerts):
    settings.SECURITY_ALERT_WEBHOOK_URL = ""
    assert _fire("refresh_reuse", 1) == [False]
    assert not alerts.calls


def test_failure_to_send_is_logged_not_raised(settings):
    settings.SECURITY_ALERT_WEBHOOK_URL = ALERT_WEBHOOK
    with responses.RequestsMock() as mock:
        mock.post(ALERT_API, status=500, json={"message": "boom"})
        assert _fire("refresh_reuse", 1) == [False]


def test_record_security_event_triggers_the_alert(alerts):
    record_security_event(kind="refresh_reuse", source="dashboard", reason="rotated token presented", ip=None)
    assert len(alerts.calls) == 1
