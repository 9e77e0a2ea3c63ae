"""Tell a guild's Discord channels about things, each event once.

``notify`` only writes a GuildNotification row (inside the caller's transaction, so a rolled-back
change tells nobody); integrations.discord.notifier sends what is pending, grouped per channel.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from guilds.models import GuildNotification


def notify(*, guild_id: int, kind: str, event_key: str, title: str, body: str = "", channel: str = "logs") -> bool:
    """Queue a message for the guild's ``channel``. False when this event was already queued."""
    try:
        with transaction.atomic():
            GuildNotification.objects.create(
                guild_id=guild_id, channel=channel, kind=kind, event_key=event_key[:120], title=title[:256], body=body
            )
    except IntegrityError:
        return False
    return True
