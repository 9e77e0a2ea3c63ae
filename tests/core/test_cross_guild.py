"""Cross-guild matrix: another guild's ids give 404 or an empty list on every endpoint, never data."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_bonus_rule, make_post, make_snapshot
from tests.helpers.api import BOT_KEY, WRITER_KEY, key_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


@pytest.fixture
def theirs(other_guild):
    """Objects of a guild the caller has nothing to do with."""
    now = timezone.now()
    post = make_post(other_guild, metrics_updated_at=now, posted_at=now - timedelta(days=1))
    make_snapshot(post, views=999, at=now - timedelta(minutes=1))
    return {
        "guild": other_guild,
        "post": post,
        "creator": post.creator,
        "profile": post.profile,
        "client_account": post.client_account,
        "bonus_rule": make_bonus_rule(other_guild),
    }


def _guild_paths(gid: int, t: dict) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", f"/api/v1/guilds/{gid}/", None),
        ("patch", f"/api/v1/guilds/{gid}/", {"timezone": "UTC"}),
        ("get", f"/api/v1/guilds/{gid}/budget", None),
        ("patch", f"/api/v1/guilds/{gid}/budget", {"daily_apify_run_limit": 1}),
        ("get", f"/api/v1/guilds/{gid}/posts", None),
        ("get", f"/api/v1/guilds/{gid}/posts/{t['post'].pk}", None),
        ("get", f"/api/v1/guilds/{gid}/posts/{t['post'].pk}/series", None),
        ("post", f"/api/v1/guilds/{gid}/posts/{t['post'].pk}/flag", {"reason": "x"}),
        ("post", f"/api/v1/guilds/{gid}/posts/{t['post'].pk}/reject", {"reason": "x"}),
        ("post", f"/api/v1/guilds/{gid}/posts/{t['post'].pk}/approve", {"reason": "x"}),
        ("post", f"/api/v1/guilds/{gid}/posts/{t['post'].pk}/finalize", {"reason": "x"}),
        ("get", f"/api/v1/guilds/{gid}/creators", None),
        ("get", f"/api/v1/guilds/{gid}/creators/{t['creator'].pk}", None),
        ("get", f"/api/v1/guilds/{gid}/profiles", None),
        ("get", f"/api/v1/guilds/{gid}/profiles/{t['profile'].pk}", None),
        ("get", f"/api/v1/guilds/{gid}/client-accounts", None),
        ("get", f"/api/v1/guilds/{gid}/client-accounts/{t['client_account'].pk}", None),
        ("patch", f"/api/v1/guilds/{gid}/client-accounts/{t['client_account'].pk}", {"active": False}),
        ("get", f"/api/v1/guilds/{gid}/bonus-rules", None),
        ("get", f"/api/v1/guilds/{gid}/bonus-rules/{t['bonus_rule'].pk}", None),
        ("patch", f"/api/v1/guilds/{gid}/bonus-rules/{t['bonus_rule'].pk}", {"amount": "1"}),
        ("delete", f"/api/v1/guilds/{gid}/bonus-rules/{t['bonus_rule'].pk}", None),
        ("get", f"/api/v1/guilds/{gid}/usage", None),
        ("get", f"/api/v1/guilds/{gid}/audit-log", None),
        ("get", f"/api/v1/guilds/{gid}/leaderboard?period=all", None),
        ("get", f"/api/v1/guilds/{gid}/exports/leaderboard.csv?period=all", None),
        ("get", f"/api/v1/guilds/{gid}/exports/posts.csv?period=all", None),
    ]


def _call(client, method, path, body):
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(path, **kwargs)


def _leaks(response, t) -> bool:
    text = b"".join(response.streaming_content) if response.streaming else response.content
    secrets_of_theirs = [
        t["post"].external_id,
        t["creator"].username,
        t["client_account"].name,
        t["bonus_rule"].name,
        t["guild"].name,
        '"views_gained":999',
    ]
    return any(s.encode() in text for s in secrets_of_theirs)


def test_a_guild_i_cannot_access_is_404_everywhere(admin_client, theirs):
    for method, path, body in _guild_paths(theirs["guild"].pk, theirs):
        r = _call(admin_client, method, path, body)
        assert r.status_code == 404, (method, path, r.status_code)
        assert r.json()["error"]["code"] == "not_found"
        assert not _leaks(r, theirs), path


def test_their_ids_under_my_guild_are_404_or_empty(admin_client, guild, theirs, bypass):
    for method, path, body in _guild_paths(guild.pk, theirs):
        r = _call(admin_client, method, path, body)
        assert r.status_code in (200, 404), (method, path, r.status_code, r.content[:200])
        assert not _leaks(r, theirs), path
    for name in ("creator", "client_account"):
        r = admin_client.get(f"/api/v1/guilds/{guild.pk}/posts", {name: theirs[name].pk})
        assert r.json()["results"] == []
    with bypass():
        theirs["post"].refresh_from_db()
        theirs["bonus_rule"].refresh_from_db()
    assert theirs["post"].status == "tracking"  # nothing of theirs changed


def test_service_keys_see_their_ids_under_another_guild_as_404(guild, theirs):
    client = key_client(WRITER_KEY)
    for method, path, body in _guild_paths(guild.pk, theirs):
        r = _call(client, method, path, body)
        assert not _leaks(r, theirs), path
        segments = path.split("?")[0].split("/")
        if str(theirs["post"].pk) in segments or "-accounts/" in path or "rules/" in path or "creators/" in path:
            assert r.status_code == 404, (method, path, r.status_code)


def test_bot_endpoints_keep_members_in_their_guild(guild, theirs):
    bot = key_client(BOT_KEY)
    creator = theirs["creator"]
    r = bot.get(f"/api/v1/bot/guilds/{guild.pk}/creators/{creator.discord_user_id}/stats")
    assert r.status_code == 404
    r = bot.post(
        f"/api/v1/bot/guilds/{guild.pk}/posts",
        {
            "discord_user_id": creator.discord_user_id,
            "url": theirs["post"].canonical_url,
            "client_account_id": theirs["client_account"].pk,
        },
        content_type="application/json",
    )
    assert r.status_code == 404
    r = bot.post(
        f"/api/v1/bot/guilds/{guild.pk}/profiles",
        {"discord_user_id": creator.discord_user_id, "platform": "tiktok", "handle": "x"},
        content_type="application/json",
    )
    assert r.status_code == 404
