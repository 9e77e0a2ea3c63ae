"""Events for the Discord bot (Standard Webhooks callbacks): the outbox side.

Producers — a post submitted, a profile verified or not, a post flagged, rejected or approved, weekly
bonuses awarded — queue an event in the transaction of the change itself; integrations.bot delivers
the outbox (signed, retried with backoff, each event id at most once).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from core.tenancy import current_guild_id, rls_bypass
from guilds.models import BotCallback


def bot_event(*, event_type: str, payload: dict[str, Any], guild_id: int | None) -> BotCallback | None:
    """An unsaved event row (None when bot callbacks are off): for writers that insert in bulk."""
    if not event_type or len(event_type) > 60:
        raise ValueError("event_type must be 1 to 60 characters")
    if not settings.BOT_CALLBACK_SIGNING_SECRET or not settings.BOT_CALLBACK_URL:
        return None
    return BotCallback(
        event_id=f"evt_{uuid.uuid4().hex}",
        event_type=event_type,
        guild_id=guild_id,
        payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),  # JSON-safe now, not at send time
        status=BotCallback.Status.PENDING,
        next_attempt_at=timezone.now(),
    )


def queue_bot_event(*, event_type: str, payload: dict[str, Any], guild_id: int | None = None) -> BotCallback | None:
    """Queue one event for the bot, in the caller's transaction; integrations.bot delivers it.

    The row's ``event_id`` (``evt_<uuid>``) is the ``webhook-id`` of every delivery attempt. Nothing is
    queued when bot callbacks are off (BOT_CALLBACK_SIGNING_SECRET or BOT_CALLBACK_URL unset).
    """
    row = bot_event(event_type=event_type, payload=payload, guild_id=guild_id)
    if row is None:
        return None
    if guild_id is not None and current_guild_id() == int(guild_id):
        row.save()
    else:  # no guild, or queued from cross-guild work: the row's guild is not the current scope
        with rls_bypass(reason=f"queue bot event {event_type}"):
            row.save()
    return row
