"""Every guild page says what is off and what to set; nothing claims a message went out that did not."""

from __future__ import annotations

import pytest

from core.tenancy import guild_scope
from guilds.notifications import notify
from tests.dashboard.conftest import log_in, use_cookies
from tests.factories import make_guild

pytestmark = pytest.mark.django_db

ALL_KEYS = ("APIFY_API_TOKEN", "YOUTUBE_API_KEY", "OPENAI_API_KEY", "DISCORD_BOT_TOKEN")


def _page(client, guild, name="overview"):
    use_cookies(client, log_in(guilds=[(guild, "admin")]))
    return client.get(f"/dashboard/{guild.pk}/" + ("" if name == "overview" else f"{name}/")).content.decode()


def test_a_switched_off_feature_is_named_with_its_setting(client, settings):
    for key in ALL_KEYS:
        setattr(settings, key, "set")
    settings.APIFY_API_TOKEN = ""
    guild = make_guild(logs_webhook_url="https://discord.com/api/webhooks/1333333333333333333/t")
    page = _page(client, guild)
    assert (
        "TikTok, Instagram, X and Facebook numbers are not refreshed: the server operator must set APIFY_API_TOKEN."
        in page
    )
    assert "YOUTUBE_API_KEY" not in page


def test_messages_without_a_destination_are_shown_waiting_on_every_page(client, settings):
    for key in ALL_KEYS:
        setattr(settings, key, "set")
    guild = make_guild()
    with guild_scope(guild.pk):  # as the producers do: inside the guild's scope
        notify(guild_id=guild.pk, kind="flagged", event_key="flag:1", title="Post flagged")
        notify(guild_id=guild.pk, kind="flagged", event_key="flag:2", title="Post flagged")
    for name in ("overview", "posts", "settings"):
        page = _page(client, guild, name)
        assert "2 Discord logs messages wait and will be sent once this is fixed" in page, name
        assert "no logs channel or webhook is configured" in page


def test_nothing_off_means_no_banner(client, settings):
    for key in ALL_KEYS:
        setattr(settings, key, "set")
    guild = make_guild(logs_webhook_url="https://discord.com/api/webhooks/1333333333333333333/t")
    with guild_scope(guild.pk):
        notify(guild_id=guild.pk, kind="flagged", event_key="flag:1", title="Post flagged")  # has a destination
    assert "health-banner" not in _page(client, guild)
