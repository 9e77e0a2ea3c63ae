"""Service keys (scopes, unknown, revoked, internal secret), as the bot API under /api/v1/bot/ sees them.

The bot API's endpoints are tests/guilds/test_bot_api.py."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard_auth.models import SecurityEvent
from tests.helpers.api import BOT_KEY, READER_KEY, REVOKED_KEY, key_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


def _bot():
    return key_client(BOT_KEY)


def test_unknown_key_is_401_and_recorded(guild):
    r = key_client("x" * 24).get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard")
    assert r.status_code == 401
    assert r.json()["error"] == {"code": "unknown_key", "message": "The API key is not valid.", "fields": {}}
    assert SecurityEvent.objects.filter(kind="key_rejected").exists()


def test_guessing_keys_gets_an_address_refused_even_with_a_good_key(settings, guild):
    settings.RATE_LIMIT_KEY_FAILURES = "3/m"
    url = f"/api/v1/bot/guilds/{guild.pk}/leaderboard"
    codes = [key_client(f"guess-{i:020d}").get(url).status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    r = _bot().get(url)  # the same address, now with the right key: still refused until the window ends
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited" and "try again in" in r.json()["error"]["message"]
    other = Client(REMOTE_ADDR="10.9.8.7").get(url, HTTP_AUTHORIZATION=f"Bearer {BOT_KEY}")
    assert other.status_code == 200  # another address is unaffected
    # three refusals recorded (aggregated into one row of the window), none once the address is limited
    assert sum(SecurityEvent.objects.filter(kind="key_rejected").values_list("count", flat=True)) == 3


def test_a_bad_key_from_an_unknown_address_is_still_recorded(guild):
    """No usable peer address (a broken proxy setup): the refusal is still stored, without an IP."""
    r = Client(REMOTE_ADDR="").get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard", HTTP_X_API_KEY="y" * 24)
    assert r.status_code == 401
    event = SecurityEvent.objects.get(kind="key_rejected")
    assert event.ip is None and event.reason == "unknown_key"


def test_revoked_key_is_401(guild, revoked_key):
    r = key_client(REVOKED_KEY).get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "revoked_key"


def test_missing_scope_is_403_naming_it(guild):
    r = key_client(READER_KEY).get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard")
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "This API key lacks the bot.read scope."


def test_x_api_key_header_works(guild):
    r = Client().get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard", HTTP_X_API_KEY=BOT_KEY)
    assert r.status_code == 200


@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-key-0000000000000", "Basic dXNlcjpwYXNz", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"]
)
def test_a_valid_x_api_key_with_a_conflicting_authorization_header_is_refused(guild, authorization):
    r = Client().get(
        f"/api/v1/bot/guilds/{guild.pk}/leaderboard", HTTP_X_API_KEY=BOT_KEY, HTTP_AUTHORIZATION=authorization
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] in ("conflicting_credentials", "invalid_token")


def test_the_same_key_in_both_headers_is_accepted(guild):
    r = Client().get(
        f"/api/v1/bot/guilds/{guild.pk}/leaderboard", HTTP_X_API_KEY=BOT_KEY, HTTP_AUTHORIZATION=f"Bearer {BOT_KEY}"
    )
    assert r.status_code == 200


def test_internal_secret_has_every_scope(guild, settings):
    r = Client().post(
        "/api/v1/bot/heartbeat",
        {"guild_count": 3},
        content_type="application/json",
        HTTP_X_INTERNAL_SECRET=settings.API_SECRET,
    )
    assert r.status_code == 200
    bad = Client().post("/api/v1/bot/heartbeat", {}, content_type="application/json", HTTP_X_INTERNAL_SECRET="nope")
    assert bad.status_code == 401


def test_dashboard_token_cannot_use_the_bot_api(admin_client, guild):
    r = admin_client.get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard")
    assert r.status_code == 401
    assert not SecurityEvent.objects.exists()


def test_bot_endpoints_are_rate_limited_per_key(settings, guild):
    settings.RATE_LIMIT_BOT_PER_KEY = "2/m"
    codes = [_bot().get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = _bot().get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard")
    assert int(r["Retry-After"]) >= 1 and r.json()["error"]["code"] == "rate_limited"


def test_a_good_key_is_checked_against_the_guessing_counter_with_one_cache_read(guild, monkeypatch):
    """The invalid-key counter of the caller's address is read once per request (one Redis GET, not
    ADD then GET), and still refuses the address once it is over the limit (test above)."""
    from django.core.cache import caches

    cache, calls = caches["ratelimit"], []
    for name in ("get", "add", "incr", "set", "get_many"):
        original = getattr(cache, name)
        monkeypatch.setattr(cache, name, lambda *a, _o=original, _n=name, **k: (calls.append(_n), _o(*a, **k))[1])
    for _ in range(2):
        assert key_client(READER_KEY).get(f"/api/v1/guilds/{guild.pk}/posts").status_code == 200
    assert calls == ["get", "get"]
