"""The notifier: pending rows grouped into one message per channel; 429, gone destinations, retries."""

import json

import pytest

from core.tenancy import guild_scope
from guilds.models import Guild, GuildNotification
from guilds.notifications import notify
from integrations.discord.notifier import batches, send_pending_notifications, waiting_notifications
from tests.factories import make_guild
from tests.helpers.discord import ALERT_WEBHOOK, API, LOGS_WEBHOOK, UPDATES_WEBHOOK
from tests.integrations.discord.helpers import make_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("discord_settings")]
N = GuildNotification
LOGS_API = f"{API}/webhooks/1333333333333333333/logs-token"
CHANNEL = "1287654321098765432"


def _queue(guild, count, *, channel="logs", kind="submission", body="details"):
    with guild_scope(guild.pk):
        for i in range(count):
            notify(
                guild_id=guild.pk, kind=kind, event_key=f"{kind}:{i}", title=f"Event {i}", body=body, channel=channel
            )


def _statuses(guild):
    with guild_scope(guild.pk):
        return sorted(N.objects.for_guild(guild).values_list("status", "attempts"))


def _send(**kw):
    client, sleep = make_client()
    return send_pending_notifications(client=client, **kw), sleep


def test_pending_rows_of_a_channel_go_out_as_one_message(discord):
    guild = make_guild(logs_webhook_url=LOGS_WEBHOOK)
    _queue(guild, 3)
    discord.post(LOGS_API, json={"id": "1"})
    summary, _ = _send()
    assert (summary.sent, summary.messages) == (3, 1)
    sent = json.loads(discord.calls[0].request.body)
    assert [e["title"] for e in sent["embeds"]] == ["Event 0", "Event 1", "Event 2"]
    assert sent["allowed_mentions"] == {"parse": []}
    assert _statuses(guild) == [("sent", 0)] * 3
    assert _send()[0].sent == 0  # nothing is sent twice


def test_more_than_ten_rows_make_several_messages(discord):
    guild = make_guild(logs_webhook_url=LOGS_WEBHOOK)
    _queue(guild, 23)
    discord.post(LOGS_API, json={"id": "1"})
    summary, _ = _send()
    assert (summary.sent, summary.messages) == (23, 3)
    assert [len(json.loads(c.request.body)["embeds"]) for c in discord.calls] == [10, 10, 3]


def test_batches_respect_the_6000_character_budget():
    rows = [N(title="t", body="x" * 2500, kind="flagged") for _ in range(5)]
    assert [len(b) for b in batches(rows)] == [2, 2, 1]


def test_bot_token_and_channel_id_when_no_webhook(discord):
    guild = make_guild(updates_channel_id=CHANNEL)
    _queue(guild, 1, channel="updates")
    discord.post(f"{API}/channels/{CHANNEL}/messages", json={"id": "1"})
    assert _send()[0].sent == 1
    assert discord.calls[0].request.headers["Authorization"].startswith("Bot ")


def test_rate_limit_is_waited_out_then_sent(discord):
    guild = make_guild(logs_webhook_url=LOGS_WEBHOOK)
    _queue(guild, 2)
    discord.post(
        LOGS_API, status=429, json={"message": "You are being rate limited.", "retry_after": 0.25, "global": False}
    )
    discord.post(LOGS_API, json={"id": "1"})
    summary, sleep = _send()
    assert sleep.calls == [0.25]
    assert summary.sent == 2
    assert _statuses(guild) == [("sent", 0)] * 2


def test_unknown_webhook_marks_the_destination_gone_and_rows_wait(discord, settings, bypass):
    settings.SECURITY_ALERT_WEBHOOK_URL = ALERT_WEBHOOK
    guild = make_guild(logs_webhook_url=LOGS_WEBHOOK, updates_webhook_url=UPDATES_WEBHOOK)
    _queue(guild, 2)
    discord.post(LOGS_API, status=404, json={"message": "Unknown Webhook", "code": 10015})
    discord.post(f"{API}/webhooks/1555555555555555555/alert-token", json={"id": "9"})
    summary, _ = _send()
    assert summary.gone == [(guild.pk, "logs")] and summary.waiting == 2
    assert _statuses(guild) == [("pending", 0)] * 2
    with bypass():
        refreshed = Guild.objects.get(pk=guild.pk)
    assert refreshed.logs_destination_gone_at is not None and refreshed.updates_destination_gone_at is None
    alert = json.loads(discord.calls[-1].request.body)
    assert "logs channel" in alert["embeds"][0]["title"]
    # later notifications for that channel wait too, without calling Discord
    _queue(guild, 1, kind="flagged")
    calls = len(discord.calls)
    assert _send()[0].waiting == 3
    assert len(discord.calls) == calls


def test_transient_errors_retry_then_fail_after_max_attempts(discord, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    guild = make_guild(logs_webhook_url=LOGS_WEBHOOK)
    _queue(guild, 1)
    discord.post(LOGS_API, status=503, json={"message": "upstream"})
    assert _send()[0].retrying == 1
    assert _statuses(guild) == [("pending", 1)]
    assert _send()[0].failed == 1
    with guild_scope(guild.pk):
        row = N.objects.for_guild(guild).get()
    assert (row.status, row.attempts) == ("failed", 2)
    assert "503" in row.last_error


def test_no_destination_keeps_them_waiting_with_a_reason_then_sends_them(discord, bypass):
    guild = make_guild()
    _queue(guild, 1)
    assert _send()[0].waiting == 1
    with guild_scope(guild.pk):
        row = N.objects.for_guild(guild).get()
    assert (row.status, row.last_error) == ("pending", "no logs channel or webhook is configured")
    assert waiting_notifications(guild) == [("logs", 1, "no logs channel or webhook is configured")]
    assert not discord.calls
    with bypass():
        Guild.objects.filter(pk=guild.pk).update(logs_webhook_url=LOGS_WEBHOOK)
        guild.refresh_from_db()
    discord.post(LOGS_API, json={"id": "1"})
    assert _send()[0].sent == 1
    assert _statuses(guild) == [("sent", 0)]
    assert waiting_notifications(guild) == []


def test_each_guilds_rows_go_to_its_own_channel(discord):
    a = make_guild(logs_webhook_url=LOGS_WEBHOOK)
    b = make_guild(logs_webhook_url="https://discord.com/api/webhooks/1666666666666666666/b-token")
    _queue(a, 1)
    _queue(b, 2)
    discord.post(LOGS_API, json={"id": "1"})
    discord.post(f"{API}/webhooks/1666666666666666666/b-token", json={"id": "2"})
    assert _send()[0].sent == 3
    assert sorted(len(json.loads(c.request.body)["embeds"]) for c in discord.calls) == [1, 2]
