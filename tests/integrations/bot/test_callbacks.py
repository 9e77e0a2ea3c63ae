"""Bot callbacks: outbound delivery (signed, retried, expired, once) and the inbound rejection matrix."""

import base64
import json
import time
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from core.tenancy import guild_scope
from dashboard_auth.models import SecurityEvent
from guilds.bot_events import queue_bot_event
from guilds.models import BotCallback, BotHealth
from integrations.bot.callbacks import deliver_due_callbacks
from integrations.models import WebhookDelivery
from integrations.webhooks.standard import sign, verify
from tests.integrations.webhooks.test_standard import SPEC_BODY, SPEC_ID, SPEC_SECRET, SPEC_SIGNATURE, SPEC_TIMESTAMP

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("discord_settings")]
SECRET = "whsec_" + base64.b64encode(b"bot-callback-secret-32-bytes!!!!").decode()
BOT_URL = "http://bot.internal:4000/callbacks"
URL = "/api/callbacks"


@pytest.fixture(autouse=True)
def callback_settings(settings):
    settings.BOT_CALLBACK_SIGNING_SECRET = SECRET
    settings.BOT_CALLBACK_URL = BOT_URL
    settings.BOT_CALLBACK_ALLOWED_SERVICES = ["bot"]
    settings.BOT_CALLBACK_SIGNED_MODE = "enforce"
    return settings


def test_the_specification_test_vector_still_holds():
    # The published Standard Webhooks vector (tests/integrations/webhooks): our signer is interoperable.
    headers = sign(secret=SPEC_SECRET, msg_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY)
    assert headers["webhook-signature"] == SPEC_SIGNATURE


# --- outbound ------------------------------------------------------------------------------------


def test_callback_is_delivered_signed_and_only_once(guild, bypass):
    with guild_scope(guild.pk):
        row = queue_bot_event(event_type="post.submitted", payload={"post_id": 42}, guild_id=guild.pk)
    with responses.RequestsMock() as bot:
        bot.post(BOT_URL, json={"ok": True})
        summary = deliver_due_callbacks()
        assert summary.delivered == 1
        request = bot.calls[0].request
        assert verify(secret=SECRET, headers=request.headers, body=request.body, tolerance_s=300) == row.event_id
        assert json.loads(request.body)["data"] == {"post_id": 42}
        assert request.headers["X-Callback-Service"] == "api"
        assert deliver_due_callbacks().delivered == 0  # never twice
    with bypass():
        assert BotCallback.objects.get(pk=row.pk).status == "delivered"


def test_failures_back_off_exponentially_with_the_same_id(bypass):
    row = queue_bot_event(event_type="bot.ping", payload={})
    now = timezone.now()
    ids, gaps = [], []
    with responses.RequestsMock() as bot:
        bot.post(BOT_URL, status=503)
        for _ in range(3):
            with bypass():
                due = BotCallback.objects.get(pk=row.pk).next_attempt_at
            now = max(now, due)
            assert deliver_due_callbacks(now=now).retrying == 1
            ids.append(bot.calls[-1].request.headers["webhook-id"])
            with bypass():
                gaps.append((BotCallback.objects.get(pk=row.pk).next_attempt_at - now).total_seconds())
    assert ids == [row.event_id] * 3
    assert 30 <= gaps[0] <= 36 and 60 <= gaps[1] <= 72 and 120 <= gaps[2] <= 144
    with bypass():
        assert BotCallback.objects.get(pk=row.pk).attempts == 3


def test_callback_expires_after_the_dispatch_ttl(settings, bypass):
    row = queue_bot_event(event_type="bot.ping", payload={})
    later = timezone.now() + timedelta(seconds=settings.WEBHOOK_DISPATCH_TTL_SECONDS + 1)
    with responses.RequestsMock() as bot:
        assert deliver_due_callbacks(now=later).expired == 1
        assert not bot.calls
    with bypass():
        assert BotCallback.objects.get(pk=row.pk).status == "expired"


def test_a_4xx_refusal_is_final(bypass):
    row = queue_bot_event(event_type="bot.ping", payload={})
    with responses.RequestsMock() as bot:
        bot.post(BOT_URL, status=400)
        assert deliver_due_callbacks().failed == 1
    with bypass():
        assert BotCallback.objects.get(pk=row.pk).status == "failed"


# --- inbound -------------------------------------------------------------------------------------

HEARTBEAT = {
    "type": "bot.heartbeat",
    "service": "bot",
    "data": {"shard_count": 2, "guild_count": 40, "status": "online", "memory_mb": 300, "uptime_seconds": 9},
}


def _post(client, event=HEARTBEAT, *, msg_id="msg_1", ts=None, secret=SECRET, body=None, drop=(), extra=None):
    raw = body if body is not None else json.dumps(event).encode()
    headers = sign(
        secret=secret,
        msg_id=msg_id,
        timestamp=ts if ts is not None else int(time.time()),
        body=json.dumps(event).encode(),
    )
    headers.update(extra or {})
    for name in drop:
        del headers[name]
    return client.post(URL, raw, content_type="application/json", headers=headers)


def _rejections(bypass):
    with bypass():
        return list(SecurityEvent.objects.filter(source="bot_callback").values_list("kind", flat=True))


def test_heartbeat_updates_bot_health(client, bypass):
    response = _post(client)
    assert response.status_code == 200 and response.json()["status"] == "processed"
    health = BotHealth.load()
    assert (health.status, health.shard_count, health.guild_count, health.memory_mb) == ("online", 2, 40, 300)
    assert health.last_heartbeat_at is not None


def test_replayed_id_is_ignored(client, bypass):
    assert _post(client).json()["status"] == "processed"
    BotHealth.objects.filter(pk=1).update(guild_count=1)
    assert _post(client).json()["status"] == "duplicate"
    assert BotHealth.load().guild_count == 1
    assert WebhookDelivery.objects.filter(source="bot", delivery_id="msg_1").count() == 1


def test_unknown_event_types_are_accepted_and_ignored(client):
    assert _post(client, {"type": "bot.something_new", "service": "bot"}).json()["status"] == "ignored"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"drop": ("webhook-id",)}, 400, "missing_headers"),
        ({"drop": ("webhook-signature",)}, 400, "missing_headers"),
        ({"drop": ("webhook-timestamp",)}, 400, "missing_headers"),
        ({"ts": int(time.time()) - 3600}, 401, "stale"),
        ({"ts": int(time.time()) + 3600}, 401, "future"),
        ({"body": json.dumps({**HEARTBEAT, "type": "bot.heartbeat "}).encode()}, 401, "bad_signature"),
        ({"secret": "whsec_" + base64.b64encode(b"a-different-secret-of-32-bytes!!").decode()}, 401, "bad_signature"),
        ({"event": {**HEARTBEAT, "service": "stranger"}}, 403, "unknown_service"),
        (
            {"event": {**HEARTBEAT, "service": "stranger"}, "extra": {"X-Callback-Service": "evil"}},
            403,
            "unknown_service",
        ),
    ],
)
def test_rejection_matrix(client, bypass, kwargs, status, code):
    response = _post(client, **kwargs)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert _rejections(bypass) == ["webhook_rejected"]
    assert BotHealth.load().last_heartbeat_at is None


def test_service_named_in_the_header_is_enough(client):
    event = {k: v for k, v in HEARTBEAT.items() if k != "service"}
    assert _post(client, event, extra={"X-Callback-Service": "bot"}).status_code == 200


def test_invalid_heartbeat_fields_are_a_400_with_fields(client):
    event = {**HEARTBEAT, "data": {"shard_count": -1, "status": "sleepy"}}
    body = _post(client, event).json()["error"]
    assert body["code"] == "invalid" and set(body["fields"]) == {"shard_count", "status"}


def test_feature_off_is_a_503(client, settings):
    settings.BOT_CALLBACK_SIGNING_SECRET = ""
    assert _post(client).status_code == 503


# --- producers, token, ids --------------------------------------------------------------------------


def test_the_bearer_token_is_sent_when_set(settings, guild):
    settings.BOT_CALLBACK_TOKEN = "bot-callback-token-0123456789"
    with guild_scope(guild.pk):
        queue_bot_event(event_type="post.submitted", payload={"post_id": 1}, guild_id=guild.pk)
    with responses.RequestsMock() as bot:
        bot.post(BOT_URL, json={"ok": True})
        deliver_due_callbacks()
        assert bot.calls[0].request.headers["Authorization"] == "Bearer bot-callback-token-0123456789"


def test_nothing_is_queued_when_callbacks_are_off(settings, guild, bypass):
    settings.BOT_CALLBACK_URL = ""
    with guild_scope(guild.pk):
        assert queue_bot_event(event_type="post.submitted", payload={}, guild_id=guild.pk) is None
    with bypass():
        assert not BotCallback.objects.exists()


def test_a_handler_that_fails_does_not_burn_the_id(client, monkeypatch, bypass):
    from integrations.bot import callbacks

    real = callbacks.HANDLERS[callbacks.HEARTBEAT]

    def boom(data):
        raise RuntimeError("database went away")

    monkeypatch.setitem(callbacks.HANDLERS, callbacks.HEARTBEAT, callbacks.Handler(real.validate, boom))
    with pytest.raises(RuntimeError):
        _post(client, msg_id="msg_retry_me")
    assert not WebhookDelivery.objects.filter(delivery_id="msg_retry_me").exists()
    monkeypatch.setitem(callbacks.HANDLERS, callbacks.HEARTBEAT, real)
    again = _post(client, msg_id="msg_retry_me")  # the bot's retry is handled, not dropped as a replay
    assert again.status_code == 200 and again.json()["status"] == "processed"


def test_ids_are_kept_whole_and_refused_past_255(client):
    long_id = "msg_" + "x" * 240
    assert _post(client, msg_id=long_id).status_code == 200
    assert WebhookDelivery.objects.filter(delivery_id=long_id).exists()
    r = _post(client, msg_id="msg_" + "y" * 300)
    assert r.status_code == 400 and r.json()["error"]["code"] == "id_too_long"


@pytest.mark.parametrize("field", ["shard_count", "guild_count", "memory_mb"])
def test_heartbeat_numbers_past_their_column_are_a_400(client, field):
    event = {**HEARTBEAT, "data": {**HEARTBEAT.get("data", {}), field: 2**31}}
    r = _post(client, event, msg_id=f"msg_{field}")
    assert r.status_code == 400 and field in r.json()["error"]["fields"]
