"""Outages degrade instead of failing: Redis down means cache misses and fail-open limits (except the
login and key-guessing limits, which fail closed); a database down answers the probes within a second."""

from __future__ import annotations

import time

import pytest
import responses
from django.test import Client
from structlog.testing import capture_logs

from core import health
from tests.helpers.api import ADMINISTRATOR, BOT_KEY, grant, login, make_dashboard_user
from tracking.settings import redis_caches

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]
DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every cache call fails
GUILDS_URL = "https://discord.com/api/v10/users/@me/guilds"


@pytest.fixture
def redis_down(settings):
    """The production cache configuration (tracking/settings.py), pointed at a closed port."""
    settings.CACHES = redis_caches(DOWN)
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True


@pytest.fixture
def admin(guild):
    user = make_dashboard_user()
    grant(user, {guild: ADMINISTRATOR})
    return user


def test_readyz_names_the_cache_when_redis_is_down(redis_down, client):
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"] == {"database": "ok", "cache": "down"} and r.json()["failed"] == ["cache"]


def test_api_requests_answer_without_the_cache(redis_down, admin, guild):
    client = login(Client(), admin, bearer=True)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:  # guild list: a cache miss
        body = [{"id": str(guild.pk), "name": guild.name, "icon": None, "owner": True, "permissions": "8"}]
        rsps.add(responses.GET, GUILDS_URL, json=body)
        for url in ("/api/v1/auth/me", f"/api/v1/guilds/{guild.pk}/posts", "/api/v1/guilds"):
            assert client.get(url).status_code < 500, url


def test_refresh_limit_fails_open_with_a_warning(redis_down, admin, guild):
    client = login(Client(), admin)
    with capture_logs() as logs, responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, GUILDS_URL, json=[])
        r = client.post("/api/v1/auth/refresh")
    assert r.status_code == 200
    assert {"event": "rate_limit_cache_down", "group": "auth.refresh", "outcome": "allowed"}.items() <= next(
        e for e in logs if e["event"] == "rate_limit_cache_down"
    ).items()


def test_login_limit_fails_closed(redis_down):
    with capture_logs() as logs:
        r = Client().get("/api/v1/auth/discord/login")
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "rate_limit_unavailable"
    assert "try again" in r.json()["error"]["message"]
    assert any(e["event"] == "rate_limit_cache_down" and e["outcome"] == "refused" for e in logs)


def test_key_guessing_limit_fails_closed(redis_down, guild):
    r = Client().get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard", HTTP_X_API_KEY=BOT_KEY)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "rate_limit_unavailable"


def test_dashboard_page_answers_without_the_cache(redis_down, admin, guild):
    client = login(Client(), admin)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, GUILDS_URL, json=[])
        assert client.get("/dashboard/").status_code < 500


# --- database down ---------------------------------------------------------------------------------

UNREACHABLE = {"host": "10.255.255.1", "port": 5432, "dbname": "tracking", "user": "tracking_app"}


@pytest.fixture
def database_down(monkeypatch, settings):
    """The probe connects to an address that never answers (as a dead database host does)."""
    monkeypatch.setattr(
        health, "probe_params", lambda: {**UNREACHABLE, "connect_timeout": settings.PROBE_CONNECT_TIMEOUT_SECONDS}
    )


def test_readyz_answers_503_within_a_second_or_so_when_the_database_is_down(database_down, client):
    started = time.monotonic()
    r = client.get("/readyz")
    assert time.monotonic() - started < 2
    assert r.status_code == 503 and r.json()["failed"] == ["database"]


def test_metrics_answers_503_quickly_when_the_database_is_down(database_down, client, settings):
    settings.OBSERVABILITY_TOKEN = "observability-token-0123456789abcdef"
    started = time.monotonic()
    r = client.get("/metrics", headers={"Authorization": f"Bearer {settings.OBSERVABILITY_TOKEN}"})
    assert time.monotonic() - started < 2
    assert r.status_code == 503 and b"database is unreachable" in r.content


def test_the_probe_connects_with_the_short_timeout(settings):
    params = health.probe_params()
    if params is None:
        pytest.skip("SQLite: no connection to time out")
    assert params["connect_timeout"] == settings.PROBE_CONNECT_TIMEOUT_SECONDS == 1
    assert "pool" not in params
