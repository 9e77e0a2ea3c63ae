"""Guilds and their members as Discord reports them: registering a guild, upserting a member.

Both are audited when something changed and idempotent when nothing did (the bot re-registers its
guilds on every start; every slash command upserts its caller).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from core.tenancy import rls_bypass
from core.values import snapshot
from guilds.audit import record_audit
from guilds.models import Creator, Guild, GuildBudgetConfig

GUILD_REGISTRATION_FIELDS = ("name", "icon", "logs_channel_id", "updates_channel_id", "timezone", "active")


def register_guild(
    *, guild_id: int, data: dict[str, Any], actor: str, actor_user=None, request=None
) -> tuple[Guild, bool]:
    """Create or update a guild (name, icon, channels, time zone, active) and make sure it has a
    budget row. Returns (guild, created). Raises django ValidationError for values the model refuses
    (nothing written)."""
    with rls_bypass(reason=f"register guild {guild_id}"), transaction.atomic():
        guild = Guild.objects.select_for_update().filter(pk=guild_id).first()
        created = guild is None
        before = None if created else snapshot(guild, GUILD_REGISTRATION_FIELDS)
        guild = guild or Guild(pk=guild_id)
        for key, value in data.items():
            setattr(guild, key, value)
        guild.full_clean(validate_unique=False)
        after = snapshot(guild, GUILD_REGISTRATION_FIELDS)
        if after == before:
            return guild, False
        guild.save()
        GuildBudgetConfig.objects.get_or_create(guild=guild)
        record_audit(
            guild_id=guild.pk,
            actor=actor,
            actor_user=actor_user,
            action="guild.register" if created else "guild.update",
            target_type="guild",
            target_id=guild.pk,
            before=before,
            after=after,
            request=request,
        )
    return guild, created


def upsert_creator(
    *, guild_id: int, discord_user_id: str, username: str, actor: str, actor_user=None, request=None
) -> tuple[Creator, bool]:
    """The guild's member for this Discord user, created on first sight, the username kept current.
    Returns (creator, created). Runs in the guild's scope. Two callers racing to create the same
    member both get the one row."""
    username = (username or discord_user_id)[:100]
    try:
        return _upsert_creator(guild_id, discord_user_id, username, actor, actor_user, request)
    except IntegrityError:  # a concurrent first sight created the row between our read and insert
        return _upsert_creator(guild_id, discord_user_id, username, actor, actor_user, request)


@transaction.atomic
def _upsert_creator(guild_id, discord_user_id, username, actor, actor_user, request) -> tuple[Creator, bool]:
    creator = Creator.objects.for_guild(guild_id).select_for_update().filter(discord_user_id=discord_user_id).first()
    if creator is not None and creator.username == username:
        return creator, False
    before = snapshot(creator, ("username",)) if creator else None
    created = creator is None
    if created:
        with transaction.atomic():
            creator = Creator.objects.create(guild_id=guild_id, discord_user_id=discord_user_id, username=username)
    else:
        creator.username = username
        creator.save(update_fields=["username"])
    record_audit(
        guild_id=guild_id,
        actor=actor,
        actor_user=actor_user,
        action="creator.create" if created else "creator.update",
        target_type="creator",
        target_id=creator.pk,
        before=before,
        after=snapshot(creator, ("username",)),
        request=request,
    )
    return creator, created
