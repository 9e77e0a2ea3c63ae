"""Fixtures for the REST API: service keys, logged-in dashboard users with chosen Discord permissions.

The API is served by several apps (core's plumbing, guilds, dashboard_auth, tracking, metrics), so
its tests share these: their conftest.py imports the fixtures (``admin_client`` here is an API
client with a Bearer token, not pytest-django's), each module that calls the API asks for
``pytest.mark.usefixtures("api_settings")``, and the helpers are imported by name.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from integrations.discord.client import DiscordGuild

BOT_KEY = "bot-key-0123456789abcdef"
READER_KEY = "reader-key-0123456789abcdef"
WRITER_KEY = "writer-key-0123456789abcdef"
REVOKED_KEY = "revoked-key-0123456789abcdef"
OWNER, ADMINISTRATOR, MANAGE_GUILD = "owner", 0x8, 0x20


@pytest.fixture
def api_settings(settings):
    settings.API_SERVICE_KEYS = [
        ("bot", BOT_KEY, frozenset({"bot.read", "bot.write"})),
        ("reader", READER_KEY, frozenset({"guilds.read"})),
        ("writer", WRITER_KEY, frozenset({"guilds.read", "guilds.write"})),
        ("old", REVOKED_KEY, frozenset({"bot.read", "bot.write", "guilds.read", "guilds.write"})),
    ]
    settings.RATE_LIMIT_BOT_PER_KEY = "10000/m"
    settings.RATE_LIMIT_BOT_PER_IP = "10000/m"
    settings.RATE_LIMIT_REFRESH = "10000/m"
    settings.RATE_LIMIT_LOGIN = "10000/m"
    settings.DASHBOARD_DISCORD_CLIENT_ID = "1234567890"
    settings.DASHBOARD_DISCORD_CLIENT_SECRET = "discord-client-secret"
    settings.SOCIAL_AUTH_DISCORD_KEY = "1234567890"
    settings.SOCIAL_AUTH_DISCORD_SECRET = "discord-client-secret"
    settings.DASHBOARD_OAUTH_CALLBACK = "http://testserver/api/v1/auth/discord/callback"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def revoked_key(db):
    from dashboard_auth.models import RevokedServiceKey

    RevokedServiceKey.objects.create(name="old", revoked_by="staff:alice", reason="leaked")


def make_dashboard_user(*, username: str = "alice", discord_id: str = "80351110224678912"):
    from django.contrib.auth import get_user_model
    from social_django.models import UserSocialAuth

    user = get_user_model().objects.create_user(username)
    UserSocialAuth.objects.create(
        user=user, provider="discord", uid=discord_id, extra_data={"access_token": f"discord-token-{username}"}
    )
    return user


def grant(user, guilds: dict) -> None:
    """Cache the user's Discord guild list: {guild: OWNER | permission bits}."""
    from dashboard_auth.guild_access import store_manageable_guilds

    entries = [
        DiscordGuild(
            id=str(g.pk), name=g.name, icon=None, owner=perm == OWNER, permissions=0 if perm == OWNER else perm
        )
        for g, perm in guilds.items()
    ]
    store_manageable_guilds(user_id=user.pk, discord_guilds=entries)


def login(client: Client, user, *, bearer: bool = False):
    """A client carrying a fresh dashboard session (cookies, or the Bearer header)."""
    from dashboard_auth.sessions import start_session

    issued = start_session(user=user)
    if bearer:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {issued.access_token}"
    else:
        client.cookies["dashboard_at"] = issued.access_token
        client.cookies["dashboard_rt"] = issued.refresh_token
    client.issued = issued
    return client


@pytest.fixture
def admin_client(db, guild):
    """A dashboard user who is ADMINISTRATOR of ``guild`` (and nothing else)."""
    user = make_dashboard_user()
    grant(user, {guild: ADMINISTRATOR})
    return login(Client(), user, bearer=True)


def key_client(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")
