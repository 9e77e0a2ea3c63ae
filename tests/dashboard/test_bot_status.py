"""The settings page says whether the Discord bot is online, from its heartbeat (BotHealth)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from guilds.models import BotHealth

pytestmark = pytest.mark.django_db


def status_line(admin_client, guild) -> str:
    response = admin_client.get(f"/dashboard/{guild.pk}/settings/")
    assert response.status_code == 200
    match = re.search(r'data-testid="bot-status">(.*?)</p>', response.content.decode(), re.S)
    assert match, "the settings page shows no bot status"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def heartbeat(minutes_ago: int, status: str = BotHealth.Status.ONLINE) -> None:
    BotHealth.objects.update_or_create(
        pk=1, defaults={"last_heartbeat_at": timezone.now() - timedelta(minutes=minutes_ago), "status": status}
    )


def test_a_bot_with_a_fresh_heartbeat_is_online(admin_client, guild):
    heartbeat(minutes_ago=2)

    assert status_line(admin_client, guild) == "Discord bot: online — last heartbeat 2 minutes ago."


def test_a_bot_silent_past_the_stale_age_is_offline_even_before_the_check_ran(admin_client, guild, settings):
    settings.BOT_HEARTBEAT_STALE_SECONDS = 300
    heartbeat(minutes_ago=12, status=BotHealth.Status.ONLINE)  # check_bot_health has not run yet

    line = status_line(admin_client, guild)

    assert line.startswith("Discord bot: offline — no heartbeat for 12 minutes (last at ")
    assert line.endswith("UTC).")


def test_a_bot_never_heard_from_says_so(admin_client, guild):
    assert not BotHealth.objects.exists()

    line = status_line(admin_client, guild)

    assert line.startswith("Discord bot: never heard from — no heartbeat has arrived yet")
    assert not BotHealth.objects.exists()  # reading the page writes nothing


def test_a_degraded_bot_with_a_fresh_heartbeat_is_degraded(admin_client, guild):
    heartbeat(minutes_ago=1, status=BotHealth.Status.DEGRADED)

    assert status_line(admin_client, guild) == "Discord bot: degraded — last heartbeat 1 minute ago."
