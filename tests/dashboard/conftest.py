"""Dashboard fixtures: a logged-in guild admin, exactly as a real Login with Discord leaves them.

The OAuth round trip with Discord is the only part faked: we create the Django user and its
social-auth row, start a dashboard session through dashboard_auth.sessions.start_session (refresh
token stored hashed, access JWT issued), and cache the user's manageable guilds through
dashboard_auth.guild_access.store_manageable_guilds — the same calls the callback makes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from django.conf import settings

from dashboard_auth.guild_access import store_manageable_guilds
from dashboard_auth.sessions import start_session
from integrations.discord.client import ADMINISTRATOR, MANAGE_GUILD, DiscordGuild

_ids = itertools.count(1)


@dataclass
class LoggedIn:
    user: object
    access_token: str
    refresh_token: str
    discord_id: str

    @property
    def cookies(self) -> dict[str, str]:
        return {
            settings.DASHBOARD_ACCESS_COOKIE_NAME: self.access_token,
            settings.DASHBOARD_REFRESH_COOKIE_NAME: self.refresh_token,
        }


def log_in(*, guilds: list[tuple[object, str]], username: str | None = None) -> LoggedIn:
    """A user who manages ``guilds``: (guild, role) with role "owner", "admin" or "manager"."""
    from django.contrib.auth import get_user_model
    from social_django.models import UserSocialAuth

    n = next(_ids)
    discord_id = str(1_160_000_000_000_000_000 + n)
    user = get_user_model().objects.create_user(username or f"admin{n}")
    UserSocialAuth.objects.create(user=user, provider="discord", uid=discord_id, extra_data={})
    issued = start_session(user=user)
    bits = {"owner": 0, "admin": ADMINISTRATOR, "manager": MANAGE_GUILD}
    store_manageable_guilds(
        user_id=user.pk,
        discord_guilds=[
            DiscordGuild(id=str(g.pk), name=g.name, icon=None, owner=role == "owner", permissions=bits[role])
            for g, role in guilds
        ],
    )
    return LoggedIn(user, issued.access_token, issued.refresh_token, discord_id)


def use_cookies(client, who: LoggedIn) -> None:
    """Put the login's cookies in a Django test client's jar."""
    for name, value in who.cookies.items():
        client.cookies[name] = value


@pytest.fixture
def login():
    return log_in


@pytest.fixture
def admin_client(client, guild):
    """A Django test client logged in as an ADMINISTRATOR of ``guild``."""
    who = log_in(guilds=[(guild, "admin")])
    use_cookies(client, who)
    client.logged_in = who
    return client


@pytest.fixture
def manager_client(client, guild):
    """Logged in with MANAGE_GUILD only: may read and review, not change budgets or rules."""
    who = log_in(guilds=[(guild, "manager")])
    use_cookies(client, who)
    client.logged_in = who
    return client
