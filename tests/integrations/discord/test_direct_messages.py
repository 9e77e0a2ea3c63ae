"""Private messages to creators: opened DM channel, sent once; DMs closed fail with the reason and are
not retried; transient errors back off; without a bot token they wait; each guild's to its creator."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from guilds.models import CreatorMessage
from integrations.discord.direct_messages import send_due_creator_messages
from integrations.discord.tasks import send_creator_messages
from tests.factories import make_creator, make_post, make_profile
from tests.helpers.discord import API
from tests.integrations.discord.helpers import make_client
from tracking.review import review_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("discord_settings")]
M = CreatorMessage
DM_CHANNEL = "1399999999999999999"
OPEN_DM = f"{API}/users/@me/channels"
SEND = f"{API}/channels/{DM_CHANNEL}/messages"
DMS_CLOSED = {"message": "Cannot send messages to this user", "code": 50007}


def _flag(post, reason="Views jumped 40x in one hour"):
    with guild_scope(post.guild_id):
        review_post(post=post, action="flag", reason=reason, actor="staff:alice")


def _rows():
    with rls_bypass(reason="test"):
        return list(M.objects.order_by("pk").values("guild_id", "status", "attempts", "last_error", "sent_at"))


def _send(**kw):
    client, _ = make_client()
    return send_due_creator_messages(client=client, **kw)


def test_a_flag_is_sent_to_the_creator_privately_with_the_reason(guild, discord):
    post = make_post(guild)
    _flag(post)
    discord.post(OPEN_DM, json={"id": DM_CHANNEL, "type": 1})
    discord.post(SEND, json={"id": "1"})

    summary = _send()

    assert summary.sent == 1
    assert json.loads(discord.calls[0].request.body) == {"recipient_id": post.creator.discord_user_id}
    embed = json.loads(discord.calls[1].request.body)["embeds"][0]
    assert embed["title"] == "Your post was flagged for review"
    assert "Reason: Views jumped 40x in one hour" in embed["description"]
    assert post.canonical_url in embed["description"]
    [row] = _rows()
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, "")
    assert _send().sent == 0 and len(discord.calls) == 2  # never sent twice


def test_dms_closed_fails_with_the_reason_and_is_not_retried(guild, discord):
    _flag(make_post(guild))
    discord.post(OPEN_DM, json={"id": DM_CHANNEL, "type": 1})
    discord.post(SEND, status=403, json=DMS_CLOSED)

    summary = _send()

    assert (summary.sent, summary.failed, summary.retrying) == (0, 1, 0)
    [row] = _rows()
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["last_error"] == (
        "the creator does not accept direct messages from the bot "
        "(Discord answered 403 while sending a message to channel 1399999999999999999: "
        "Cannot send messages to this user)"
    )
    later = timezone.now() + timedelta(days=1)
    assert _send(now=later).failed == 0 and len(discord.calls) == 2


def test_503_is_retried_with_backoff_and_sent_on_the_next_run(guild, discord):
    _flag(make_post(guild))
    discord.post(OPEN_DM, json={"id": DM_CHANNEL, "type": 1})
    discord.post(SEND, status=503, json={"message": "upstream"})
    now = timezone.now()

    first = _send(now=now)
    assert (first.sent, first.retrying) == (0, 1)
    [row] = _rows()
    assert (row["status"], row["attempts"]) == ("pending", 1) and "503" in row["last_error"]
    assert _send(now=now + timedelta(seconds=10)).sent == 0  # not due yet: backing off

    discord.replace("POST", SEND, json={"id": "2"})
    second = _send(now=now + timedelta(minutes=2))
    assert second.sent == 1
    [row] = _rows()
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, "")


def test_transient_errors_fail_after_notify_max_attempts(guild, discord, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    _flag(make_post(guild))
    discord.post(OPEN_DM, status=502, json={"message": "bad gateway"})
    now = timezone.now()
    assert _send(now=now).retrying == 1
    assert _send(now=now + timedelta(hours=2)).failed == 1
    [row] = _rows()
    assert (row["status"], row["attempts"]) == ("failed", 2) and "502" in row["last_error"]


def test_without_a_bot_token_messages_wait_and_go_once_it_is_set(guild, discord, settings):
    settings.DISCORD_BOT_TOKEN = ""
    _flag(make_post(guild))

    result = send_creator_messages.delay().get()

    assert result == {"sent": 0, "waiting": 1, "failed": 0, "retrying": 0}
    [row] = _rows()
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 0, "DISCORD_BOT_TOKEN is not set")
    assert len(discord.calls) == 0

    settings.DISCORD_BOT_TOKEN = "bot-token-secret"
    discord.post(OPEN_DM, json={"id": DM_CHANNEL, "type": 1})
    discord.post(SEND, json={"id": "3"})
    assert send_creator_messages.delay().get()["sent"] == 1
    assert _rows()[0]["status"] == "sent"


def test_each_guilds_message_goes_to_its_own_creator_only(guild, other_guild, discord):
    mine = make_post(guild)
    theirs = make_creator(other_guild)
    make_post(other_guild, make_profile(other_guild, creator=theirs))
    _flag(mine)
    discord.post(OPEN_DM, json={"id": DM_CHANNEL, "type": 1})
    discord.post(SEND, json={"id": "4"})

    assert _send(guild_id=other_guild.pk).sent == 0  # nothing of guild's is sent as other_guild's
    assert _send().sent == 1
    recipients = [json.loads(c.request.body)["recipient_id"] for c in discord.calls if c.request.url == OPEN_DM]
    assert recipients == [mine.creator.discord_user_id]
    assert theirs.discord_user_id not in recipients
    assert [r["guild_id"] for r in _rows()] == [guild.pk]
