"""Service keys (scopes, unknown, revoked, internal secret) and the bot API under /api/v1/bot/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dashboard_auth.models import SecurityEvent
from guilds.models import BotHealth, Creator, DashboardAuditLog, Guild, GuildBudgetConfig
from tests.factories import make_client_account, make_creator, make_post, make_profile, make_snapshot
from tests.helpers.api import BOT_KEY, READER_KEY, REVOKED_KEY, key_client
from tracking.models import Post, Profile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]
NEW_GUILD = 1300000000000000001


def _bot():
    return key_client(BOT_KEY)


# --- keys and scopes -------------------------------------------------------------------------


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
    assert SecurityEvent.objects.filter(kind="key_rejected").count() == 3  # no rows once limited


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


# --- endpoints -------------------------------------------------------------------------------


def test_register_guild_creates_budget_and_audits(bypass):
    body = {"name": "New Guild", "logs_channel_id": "1234567890123456789", "timezone": "Europe/Paris"}
    r = _bot().put(f"/api/v1/bot/guilds/{NEW_GUILD}", body, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["id"] == str(NEW_GUILD) and r.json()["created"] is True
    again = _bot().put(f"/api/v1/bot/guilds/{NEW_GUILD}", {**body, "name": "Renamed"}, content_type="application/json")
    assert again.status_code == 200 and again.json()["created"] is False
    same = _bot().put(f"/api/v1/bot/guilds/{NEW_GUILD}", {**body, "name": "Renamed"}, content_type="application/json")
    assert same.status_code == 200  # the bot re-registers on every start: nothing new is audited
    with bypass():
        assert Guild.objects.get(pk=NEW_GUILD).name == "Renamed"
        assert GuildBudgetConfig.objects.filter(guild_id=NEW_GUILD).count() == 1
        entries = list(DashboardAuditLog.objects.filter(guild_id=NEW_GUILD).order_by("pk"))
    assert [e.action for e in entries] == ["guild.register", "guild.update"]
    assert entries[1].before["name"] == "New Guild" and entries[1].after["name"] == "Renamed"
    assert entries[0].actor == "service:bot"


def test_register_guild_rejects_bad_input_and_writes_nothing(bypass):
    r = _bot().put(
        f"/api/v1/bot/guilds/{NEW_GUILD}", {"name": "G", "timezone": "Mars/Olympus"}, content_type="application/json"
    )
    assert r.status_code == 400
    assert "timezone" in r.json()["error"]["fields"]
    with bypass():
        assert not Guild.objects.filter(pk=NEW_GUILD).exists()


def test_upsert_creator(guild, bypass):
    url = f"/api/v1/bot/guilds/{guild.pk}/creators"
    body = {"discord_user_id": "1234567890123456789", "username": "maya"}
    assert _bot().post(url, body, content_type="application/json").status_code == 201
    assert _bot().post(url, body, content_type="application/json").status_code == 200
    r = _bot().post(url, {**body, "username": "maya2"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["username"] == "maya2"
    with bypass():
        assert Creator.objects.get(guild=guild).username == "maya2"
        assert DashboardAuditLog.objects.filter(guild=guild, target_type="creator").count() == 2


def test_unknown_guild_is_404_for_bot_endpoints():
    r = _bot().post(
        f"/api/v1/bot/guilds/{NEW_GUILD}/creators",
        {"discord_user_id": "1234567890123456789", "username": "x"},
        content_type="application/json",
    )
    assert r.status_code == 404


def test_link_profile_returns_a_code(guild, bypass):
    creator = make_creator(guild)
    r = _bot().post(
        f"/api/v1/bot/guilds/{guild.pk}/profiles",
        {
            "discord_user_id": creator.discord_user_id,
            "platform": "tiktok",
            "handle": "@Maya",
            "start_verification": False,
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["profile"]["handle"] == "maya"
    assert r.json()["verification_code"].startswith("TD-")
    with bypass():
        assert Profile.objects.get(guild=guild).creator_id == creator.pk


def test_link_profile_bad_handle_is_400(guild):
    creator = make_creator(guild)
    r = _bot().post(
        f"/api/v1/bot/guilds/{guild.pk}/profiles",
        {"discord_user_id": creator.discord_user_id, "platform": "tiktok", "handle": "a b/c d"},
        content_type="application/json",
    )
    assert r.status_code == 400
    assert r.json()["error"]["fields"]["handle"]


def test_submit_post_and_duplicate(guild, bypass):
    profile = make_profile(guild, handle="maya")
    client_account = make_client_account(guild)
    body = {
        "discord_user_id": profile.creator.discord_user_id,
        "client_account_id": client_account.pk,
        "url": "https://www.tiktok.com/@maya/video/7234567890123456789",
    }
    url = f"/api/v1/bot/guilds/{guild.pk}/posts"
    r = _bot().post(url, body, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["post"]["external_id"] == "7234567890123456789"
    assert _bot().post(url, body, content_type="application/json").status_code == 200  # a retry
    bad = _bot().post(url, {**body, "url": "https://example.com/x"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["message"]
    with bypass():
        assert Post.objects.filter(guild=guild).count() == 1


def test_creator_stats_match_the_leaderboard(guild):
    now = timezone.now()
    post = make_post(
        guild, posted_at=now - timedelta(days=30), submitted_at=now - timedelta(days=30), metrics_updated_at=now
    )
    make_snapshot(post, views=100, at=now - timedelta(days=20))
    make_snapshot(post, views=1100, at=now - timedelta(minutes=5))
    stats = _bot().get(f"/api/v1/bot/guilds/{guild.pk}/creators/{post.creator.discord_user_id}/stats").json()
    board = _bot().get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard", {"period": "all"}).json()
    assert stats["posts"] == 1
    assert stats["views_gained_all"] == board["creators"][0]["views_gained"] == 1100
    assert stats["views_gained_week"] <= stats["views_gained_all"]


def test_heartbeat_updates_the_singleton():
    r = _bot().post(
        "/api/v1/bot/heartbeat",
        {"shard_count": 2, "guild_count": 40, "status": "degraded"},
        content_type="application/json",
    )
    assert r.status_code == 200
    health = BotHealth.objects.get(pk=1)
    assert (health.shard_count, health.guild_count, health.status) == (2, 40, "degraded")
    assert health.last_heartbeat_at is not None
