"""Which guilds a dashboard user may see: Discord's word (owner, ADMINISTRATOR, MANAGE_GUILD), cached.

The list comes from ``/users/@me/guilds`` with the user's OAuth token, at login and again at every
refresh, and keeps only guilds the product knows (an active Guild row). It lives in the Django cache
(Redis when configured) under one key per user, so a permission check per request costs no query
and no Discord call. When Discord fails transiently at refresh, the cached list stands; when it says
the token is revoked (401), the caller ends the session.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

import structlog
from django.conf import settings
from django.core.cache import cache

from core.tenancy import rls_bypass
from guilds.members import register_guild
from guilds.models import Guild
from integrations.discord.client import ADMINISTRATOR, DiscordClient, DiscordGuild
from integrations.errors import IntegrationError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class GuildAccess:
    """One guild a dashboard user may open. ``can_admin``: owner or ADMINISTRATOR (may change budgets,
    bonus rules and guild settings); MANAGE_GUILD alone gives read access and post review."""

    guild_id: int
    name: str
    is_owner: bool
    can_admin: bool


class RecheckOutcome(Enum):
    UPDATED = "updated"
    KEPT_CACHED = "kept_cached"  # Discord failed transiently: the cached list stands
    TOKEN_REVOKED = "token_revoked"  # Discord refused the user's token: end the session
    NO_TOKEN = "no_token"


def discord_user_client() -> DiscordClient:
    # User-token calls only; a request must not sleep long on a 429, so it is treated as transient.
    return DiscordClient(
        bot_token=None, timeout_s=settings.DISCORD_HTTP_TIMEOUT_MS / 1000, max_retries=1, max_retry_sleep_s=2.0
    )


def guild_access_key(user_id: int) -> str:
    """The cache key of one user's guild list."""
    return f"dashboard:guilds:{user_id}"


def unregistered_key(user_id: int) -> str:
    """The cache key of the servers a user administers that the product does not track yet."""
    return f"dashboard:unregistered:{user_id}"


def store_manageable_guilds(*, user_id: int, discord_guilds: list[DiscordGuild]) -> list[GuildAccess]:
    """Keep the guilds the user can manage and the product knows (active), cache and return them.
    The ones the user owns or administers but the product does not know are cached apart: the
    dashboard offers to register them."""
    manageable = {int(g.id): g for g in discord_guilds if g.can_manage and g.id.isdigit()}
    known: dict[int, str] = {}
    if manageable:
        with rls_bypass(reason=f"dashboard guild list for user {user_id}"):
            known = dict(Guild.objects.filter(id__in=list(manageable), active=True).values_list("id", "name"))
    unregistered = [
        {"guild_id": gid, "name": g.name[:100], "is_owner": bool(g.owner)}
        for gid, g in sorted(manageable.items(), key=lambda item: (item[1].name.lower(), item[0]))
        if gid not in known and (g.owner or g.permissions & ADMINISTRATOR)
    ]
    cache.set(unregistered_key(user_id), unregistered, settings.DASHBOARD_GUILDS_CACHE_SECONDS)
    access = [
        GuildAccess(
            guild_id=gid,
            name=known[gid],
            is_owner=manageable[gid].owner,
            can_admin=manageable[gid].owner or bool(manageable[gid].permissions & ADMINISTRATOR),
        )
        for gid in sorted(known, key=lambda i: (known[i].lower(), i))
    ]
    cache.set(guild_access_key(user_id), [asdict(a) for a in access], settings.DASHBOARD_GUILDS_CACHE_SECONDS)
    return access


def unregistered_guilds(*, user_id: int) -> list[dict]:
    """Servers the user owns or administers that are not registered yet:
    [{"guild_id", "name", "is_owner"}]."""
    return cache.get(unregistered_key(user_id)) or []


def grant_cached_access(*, user_id: int, access: GuildAccess) -> None:
    """Add one guild to the user's cached list (after they registered it)."""
    current = [a for a in (cached_guilds(user_id=user_id) or []) if a.guild_id != access.guild_id]
    current.append(access)
    current.sort(key=lambda a: (a.name.lower(), a.guild_id))
    cache.set(guild_access_key(user_id), [asdict(a) for a in current], settings.DASHBOARD_GUILDS_CACHE_SECONDS)
    left = [g for g in unregistered_guilds(user_id=user_id) if g["guild_id"] != access.guild_id]
    cache.set(unregistered_key(user_id), left, settings.DASHBOARD_GUILDS_CACHE_SECONDS)


def cached_guilds(*, user_id: int) -> list[GuildAccess] | None:
    raw = cache.get(guild_access_key(user_id))
    if raw is None:
        return None
    return [GuildAccess(**item) for item in raw]


def forget_guilds(*, user_id: int) -> None:
    cache.delete(guild_access_key(user_id))


def discord_access_token(*, user_id: int) -> str | None:
    """The user's Discord OAuth access token as social-auth stored it (UserSocialAuth.extra_data)."""
    from social_django.models import UserSocialAuth

    extra = (
        UserSocialAuth.objects.filter(user_id=user_id, provider="discord").values_list("extra_data", flat=True).first()
    )
    token = (extra or {}).get("access_token") if isinstance(extra, dict) else None
    return token or None


def recheck_guilds(*, user_id: int) -> RecheckOutcome:
    """Ask Discord again which guilds the user manages (at refresh). Never raises for Discord errors."""
    token = discord_access_token(user_id=user_id)
    if token is None:
        return RecheckOutcome.NO_TOKEN
    try:
        guilds = discord_user_client().get_current_user_guilds(access_token=token)
    except IntegrationError as exc:
        if exc.code == "http_401":
            log.info("discord_token_revoked", user_id=user_id)
            return RecheckOutcome.TOKEN_REVOKED
        log.warning("discord_guild_recheck_failed", user_id=user_id, error=str(exc))
        return RecheckOutcome.KEPT_CACHED
    store_manageable_guilds(user_id=user_id, discord_guilds=guilds)
    return RecheckOutcome.UPDATED


def guilds_for_user(*, user_id: int) -> list[GuildAccess]:
    """The cached list; on a cache miss (e.g. the cache was flushed) ask Discord once more.
    An unreachable Discord then means no guilds, never someone else's."""
    found = cached_guilds(user_id=user_id)
    if found is not None:
        return found
    if recheck_guilds(user_id=user_id) is RecheckOutcome.UPDATED:
        return cached_guilds(user_id=user_id) or []
    return []


def access_to(*, user_id: int, guild_id: int) -> GuildAccess | None:
    return next((g for g in guilds_for_user(user_id=user_id) if g.guild_id == int(guild_id)), None)


class RegistrationRefused(Exception):
    """The user may not register that server (``message`` says why, for the page)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def register_server(*, user, guild_id: int, request=None) -> GuildAccess:
    """Register a server the user owns or administers (Discord's word, from the cached login list):
    the guild and its budget row are created and audited, and the user's list gains it at once."""
    offered = {g["guild_id"]: g for g in unregistered_guilds(user_id=user.pk)}
    if guild_id not in offered:
        raise RegistrationRefused(
            "Only a server you own or administer can be registered, and only from the list on this page "
            "(log in again if you were just given the permission)."
        )
    guild, _ = register_guild(
        guild_id=guild_id,
        data={"name": offered[guild_id]["name"] or str(guild_id), "active": True},
        actor=f"dashboard:{user.get_username()}",
        actor_user=user,
        request=request,
    )
    access = GuildAccess(guild_id=guild.pk, name=guild.name, is_owner=offered[guild_id]["is_owner"], can_admin=True)
    grant_cached_access(user_id=user.pk, access=access)
    log.info("guild_registered_from_dashboard", guild_id=guild.pk, user_id=user.pk)
    return access
