"""The social-auth pipeline step of "Login with Discord": read which guilds the user may manage.

Runs after social-auth created or found the user and stored the OAuth token. Uses the access token
of this very login to call ``/users/@me/guilds`` and caches the manageable, known guilds
(dashboard_auth/guild_access.py). A Discord failure here fails the login with a reason the login
view turns into a friendly redirect (nothing half-logged-in is left behind).
"""

from __future__ import annotations

from social_core.exceptions import AuthProviderError

from dashboard_auth.guild_access import discord_user_client, store_manageable_guilds
from integrations.errors import IntegrationError


class GuildListUnavailable(AuthProviderError):
    """Discord did not give us the user's guilds."""


def load_manageable_guilds(backend, user=None, response=None, *args, **kwargs) -> dict:
    if user is None or backend.name != "discord":
        return {}
    token = (response or {}).get("access_token")
    if not token:
        raise GuildListUnavailable(backend, code="missing_claim", stage="pipeline")
    try:
        guilds = discord_user_client().get_current_user_guilds(access_token=token)
    except IntegrationError as exc:
        raise GuildListUnavailable(backend, code="http_error", stage="pipeline", status_code=None) from exc
    return {"dashboard_guilds": store_manageable_guilds(user_id=user.pk, discord_guilds=guilds)}
