"""Tell a creator privately (a Discord DM) what happened to one of their posts, each event once.

``queue_creator_message`` only writes a CreatorMessage row, in the caller's transaction (a rolled-back
review tells nobody); integrations.discord.direct_messages sends what is due. The ``event_key`` is
unique per guild, so a transition queued twice sends one message.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from guilds.models import Creator, CreatorMessage

_TITLES = {
    CreatorMessage.Kind.FLAGGED: "Your post was flagged for review",
    CreatorMessage.Kind.REJECTED: "Your post was rejected",
    CreatorMessage.Kind.APPROVED: "Your post was approved",
}
_NEXT_STEP = {
    CreatorMessage.Kind.FLAGGED: (
        "A server admin will look at it; its views may not count until then. "
        "Reply to a server admin if you think this is wrong."
    ),
    CreatorMessage.Kind.REJECTED: "Its views do not count. Reply to a server admin if you think this is wrong.",
    CreatorMessage.Kind.APPROVED: "Its views count again; nothing else to do.",
}


def message_text(*, kind: str, guild_name: str, platform: str, url: str, reason: str) -> tuple[str, str]:
    """(title, body) of the message: which post, its new status, the reason as written, what to do."""
    kind = CreatorMessage.Kind(kind)
    lines = [
        f"Server: {guild_name}",
        f"Post: {platform} {url}",
        f"Status: {kind.label.lower()}",
        f"Reason: {reason or 'none given'}",
        "",
        _NEXT_STEP[kind],
    ]
    return _TITLES[kind], "\n".join(lines)


def creator_message(
    *,
    guild_id: int,
    creator_id: int,
    discord_user_id: str,
    kind: str,
    event_key: str,
    platform: str,
    url: str,
    reason: str,
    guild_name: str,
) -> CreatorMessage:
    """An unsaved message row, for callers that write many at once (ingestion's bulk insert)."""
    title, body = message_text(kind=kind, guild_name=guild_name, platform=platform, url=url, reason=reason)
    return CreatorMessage(
        guild_id=guild_id,
        creator_id=creator_id,
        discord_user_id=discord_user_id,
        kind=kind,
        event_key=event_key[:120],
        title=title[:256],
        body=body,
    )


def queue_creator_message(
    *, creator: Creator, kind: str, event_key: str, platform: str, url: str, reason: str, guild_name: str = ""
) -> bool:
    """Queue a private message to ``creator``. False when this event was already queued."""
    row = creator_message(
        guild_id=creator.guild_id,
        creator_id=creator.pk,
        discord_user_id=creator.discord_user_id,
        kind=kind,
        event_key=event_key,
        platform=platform,
        url=url,
        reason=reason,
        guild_name=guild_name or creator.guild.name,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        return False
    return True
