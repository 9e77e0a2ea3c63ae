"""The bot API under /api/v1/bot/: registering guilds, creators, profiles and posts, stats, heartbeat.

Service keys themselves (scopes, unknown, revoked, internal secret) are tests/dashboard_auth/test_service_keys.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from guilds.models import BotHealth, Creator, DashboardAuditLog, Guild, GuildBudgetConfig
from tests.factories import make_client_account, make_creator, make_post, make_profile, make_snapshot
from tests.helpers.api import BOT_KEY, key_client
from tracking.models import Post, Profile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]
NEW_GUILD = 1300000000000000001


def _bot():
    return key_client(BOT_KEY)


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
