"""The bot hears of what concerns it (producers of bot events), and a silent bot is marked offline."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from core.tenancy import guild_scope
from guilds.models import BotCallback, BotHealth
from integrations.bot.health import check_bot_health
from metrics.ingestion import ingest_items
from metrics.models import VideoMetrics
from tests.factories import make_post
from tests.helpers.discord import ALERT_WEBHOOK
from tracking.lifecycle import transition_post
from tracking.platforms.items import MetricsItem
from tracking.review import review_post

pytestmark = pytest.mark.django_db
ALERT_API = "https://discord.com/api/v10/webhooks/1555555555555555555/alert-token"


@pytest.fixture(autouse=True)
def callbacks_on(settings):
    settings.BOT_CALLBACK_SIGNING_SECRET = "whsec_" + base64.b64encode(b"bot-callback-secret-32-bytes!!!!").decode()
    settings.BOT_CALLBACK_URL = "http://bot.internal:4000/callbacks"


def events(bypass) -> list[tuple[str, dict]]:
    with bypass():
        return [(e.event_type, e.payload) for e in BotCallback.objects.order_by("pk")]


def test_a_review_tells_the_bot_who_and_why(guild, bypass):
    post = make_post(guild)
    with guild_scope(guild.pk):
        review_post(post=post, action="flag", reason="views look bought", actor="staff:alice")
        review_post(post=post, action="approve", reason="checked with the creator", actor="staff:alice")
        review_post(post=post, action="reject", reason="not our brand", actor="staff:alice")
    kinds = [(kind, payload["reason"], payload["discord_user_id"]) for kind, payload in events(bypass)]
    who = post.creator.discord_user_id
    assert kinds == [
        ("post.flagged", "views look bought", who),
        ("post.approved", "checked with the creator", who),
        ("post.rejected", "not our brand", who),
    ]


def test_a_flag_raised_by_ingestion_is_told_to_the_bot_too(guild, bypass):
    post = make_post(guild, views=1000, metrics_updated_at=timezone.now() - timedelta(hours=1))
    item = MetricsItem(platform="tiktok", external_id=post.external_id, views=500, likes=1, comments=0)
    ingest_items(
        guild_id=guild.pk,
        platform="tiktok",
        items=[item],
        captured_at=timezone.now(),
        provider=VideoMetrics.Provider.APIFY,
    )
    flagged = [payload for kind, payload in events(bypass) if kind == "post.flagged"]
    assert len(flagged) == 1 and flagged[0]["post_id"] == post.pk and "went down" in flagged[0]["reason"]


def test_a_status_change_the_bot_has_no_use_for_is_not_sent(guild, bypass):
    post = make_post(guild, status="submitted")
    with guild_scope(guild.pk):
        transition_post(post=post, to_status="tracking", reason="First numbers received.")
    assert events(bypass) == []


@pytest.fixture
def alerts(settings):
    settings.SECURITY_ALERT_WEBHOOK_URL = ALERT_WEBHOOK
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(ALERT_API, json={"id": "1"})
        yield mock


def test_a_silent_bot_is_marked_offline_once_with_one_alert(alerts, settings):
    settings.BOT_HEARTBEAT_STALE_SECONDS = 300
    BotHealth.objects.update_or_create(
        pk=1, defaults={"status": "online", "last_heartbeat_at": timezone.now() - timedelta(minutes=10)}
    )
    assert check_bot_health() == "offline"
    assert check_bot_health() == "offline"  # still silent: no second alert
    assert len(alerts.calls) == 1 and b"The Discord bot is offline" in alerts.calls[0].request.body
    assert BotHealth.objects.get(pk=1).status == "offline"


def test_a_bot_that_speaks_stays_online(alerts):
    BotHealth.objects.update_or_create(pk=1, defaults={"status": "online", "last_heartbeat_at": timezone.now()})
    assert check_bot_health() == "online"
    assert len(alerts.calls) == 0


def test_a_bot_that_never_spoke_is_not_alerted_about(alerts):
    assert check_bot_health() == "unknown"
    assert len(alerts.calls) == 0
