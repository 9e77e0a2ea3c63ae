"""No vendor call runs inside a transaction (reserve → call → record, DESIGN §3).

One test per vendor path. These tests run without the test's own wrapping transaction
(``transaction=True``), so ``connection.in_atomic_block`` at the moment the fake vendor receives
the request is exactly what production would have: a transaction left open around the call — rows
locked while Apify, YouTube, OpenAI or Discord take their time — fails the test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.db import connection
from django.utils import timezone
from googleapiclient.http import HttpMock

import metrics.captions
from core.tenancy import guild_scope, rls_bypass
from guilds.bot_events import queue_bot_event
from guilds.notifications import notify
from integrations.bot.callbacks import deliver_due_callbacks
from integrations.discord.commands import complete_deferred
from integrations.discord.direct_messages import send_due_creator_messages
from integrations.discord.notifier import send_pending_notifications
from integrations.models import ApifyRunRegistry
from integrations.verification import process_verification_run, request_verification
from integrations.youtube.client import YouTubeClient
from metrics.collection import process_metrics_run, refresh_youtube, start_metrics_run
from metrics.ingestion import ingest_items
from metrics.models import VideoMetrics
from tests.factories import make_client_account, make_guild, make_post, make_profile
from tests.fakes.apify_server import apify_server  # noqa: F401
from tests.helpers.apify import (
    apify,  # noqa: F401
    tiktok_item,
)
from tests.integrations.openai.helpers import API_KEY as OPENAI_KEY
from tests.integrations.openai.helpers import FakeOpenAI, answering
from tests.integrations.youtube.helpers import API_KEY as YOUTUBE_KEY
from tests.integrations.youtube.helpers import FIXTURES as YOUTUBE_FIXTURES
from tracking.platforms.items import MetricsItem
from tracking.review import review_post

pytestmark = pytest.mark.django_db(transaction=True)


class Boundary:
    """Records, at each vendor request, whether the calling thread's connection was in a transaction."""

    def __init__(self):
        self.caller = connection  # this thread's connection, read from the fake's thread while we wait
        self.seen: list[bool] = []

    def __call__(self, *args, **kwargs):
        self.seen.append(self.caller.in_atomic_block)


@pytest.fixture
def boundary():
    return Boundary()


@pytest.fixture
def guild():
    return make_guild()


def test_starting_and_reading_an_apify_metrics_run(guild, apify, boundary):  # noqa: F811
    apify.observers.append(boundary)
    post = make_post(guild, next_refresh_at=timezone.now())
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[post.pk])
    assert run is not None and run.status == "initiated" and boundary.seen == [False]

    apify.add_run(run.apify_run_id, status="SUCCEEDED", items=[tiktok_item(post, views=4321)])
    result = process_metrics_run(registry_id=run.pk)

    assert result is not None and result.inserted == 1
    assert len(boundary.seen) >= 3 and not any(boundary.seen)  # start, run state, dataset page(s)


def test_starting_and_reading_an_apify_profile_check(guild, apify, boundary):  # noqa: F811
    apify.observers.append(boundary)
    profile = make_profile(
        guild,
        platform="tiktok",
        handle="ohmyshop.store",
        verification_status="unverified",
        verified_at=None,
        verification_code="TD-ABC234",
        verification_code_expires_at=timezone.now() + timedelta(hours=1),
    )
    assert request_verification(profile_id=profile.pk) == "pending"
    started = apify.started_runs[-1]
    apify.set_run_status(started.run_id, "SUCCEEDED")

    process_verification_run(registry_id=registry_id_of(started.run_id))

    assert len(boundary.seen) >= 3 and not any(boundary.seen)


def registry_id_of(apify_run_id: str) -> int:
    with rls_bypass(reason="test assertion"):
        return ApifyRunRegistry.objects.get(apify_run_id=apify_run_id).pk


class RecordingHttp(HttpMock):
    """google-api-python-client's HttpMock, noting the transaction state of each request."""

    def __init__(self, boundary: Boundary, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.boundary = boundary

    def request(self, *args, **kwargs):
        self.boundary()
        return super().request(*args, **kwargs)


def test_youtube_videos_list(guild, boundary, settings):
    settings.YOUTUBE_API_KEY = YOUTUBE_KEY
    profile = make_profile(guild, platform="youtube", handle="somechannel")
    post = make_post(guild, profile=profile, platform="youtube", external_id="8HFBY9cudgM")
    http = RecordingHttp(boundary, str(YOUTUBE_FIXTURES / "youtube_videos_list.json"), {"status": "200"})

    result = refresh_youtube(
        guild_id=guild.id, post_ids=[post.pk], client=YouTubeClient(api_key=YOUTUBE_KEY, http=http)
    )

    assert result.calls == 1 and boundary.seen == [False]


def test_openai_caption_check(guild, boundary, settings, monkeypatch):
    settings.OPENAI_API_KEY = OPENAI_KEY
    fake = answering("pass", [])
    monkeypatch.setattr(
        metrics.captions, "checker_from_settings", FakeOpenAI(lambda r: (boundary(), fake.handler(r))[1]).checker
    )
    post = make_post(guild, client_account=make_client_account(guild))
    item = MetricsItem(platform="tiktok", external_id=post.external_id, views=10, caption="hello #ad")
    ingest_items(
        guild_id=guild.id,
        platform="tiktok",
        items=[item],
        captured_at=timezone.now(),
        provider=VideoMetrics.Provider.APIFY,
    )

    metrics.captions.check_due_captions()

    assert boundary.seen == [False]


@responses.activate
def test_discord_channel_messages(guild, boundary, settings):
    settings.DISCORD_BOT_TOKEN = "bot-token"
    hook = "https://discord.com/api/webhooks/1333333333333333333/logs-token"
    with guild_scope(guild.id):
        guild.logs_webhook_url = hook
        guild.save(update_fields=["logs_webhook_url"])
        notify(guild_id=guild.id, kind="submission", event_key="e1", title="Hello")
    api_hook = "https://discord.com/api/v10/webhooks/1333333333333333333/logs-token"
    responses.add_callback(responses.POST, api_hook, callback=lambda request: (boundary(), (200, {}, '{"id": "1"}'))[1])

    summary = send_pending_notifications(guild_id=guild.id)

    assert summary.sent == 1 and boundary.seen == [False]


@responses.activate
def test_discord_direct_messages_to_creators(guild, boundary, settings):
    settings.DISCORD_BOT_TOKEN = "bot-token"
    post = make_post(guild)
    with guild_scope(guild.id):
        review_post(post=post, action="flag", reason="views look bought", actor="staff:alice")
    api = "https://discord.com/api/v10"
    responses.add_callback(
        responses.POST,
        f"{api}/users/@me/channels",
        callback=lambda request: (boundary(), (200, {}, '{"id": "1399999999999999999"}'))[1],
    )
    responses.add_callback(
        responses.POST,
        f"{api}/channels/1399999999999999999/messages",
        callback=lambda request: (boundary(), (200, {}, '{"id": "1"}'))[1],
    )

    summary = send_due_creator_messages(guild_id=guild.id)

    assert summary.sent == 1 and boundary.seen == [False, False]


@responses.activate
def test_discord_interaction_follow_up(guild, boundary):
    url = "https://discord.com/api/v10/webhooks/1111111111111111111/tok/messages/@original"
    responses.add_callback(responses.PATCH, url, callback=lambda request: (boundary(), (200, {}, '{"id": "1"}'))[1])
    payload = {
        "application_id": "1111111111111111111",
        "token": "tok",
        "type": 2,
        "guild_id": guild.id,
        "user_id": "1222222222222222222",
        "username": "maya",
        "name": "verify",
        "options": {"platform": "tiktok"},
        "focused": "",
        "attachments": {},
    }

    complete_deferred(payload)

    assert boundary.seen == [False]


@responses.activate
def test_bot_callback_delivery(guild, boundary, settings):
    settings.BOT_CALLBACK_SIGNING_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    settings.BOT_CALLBACK_URL = "http://bot.internal:4000/callbacks"
    queue_bot_event(event_type="post.submitted", payload={"post_id": 1}, guild_id=guild.id)
    answer = lambda request: (boundary(), (204, {}, ""))[1]  # noqa: E731
    responses.add_callback(responses.POST, settings.BOT_CALLBACK_URL, callback=answer)

    summary = deliver_due_callbacks()

    assert summary.delivered == 1 and boundary.seen == [False]
