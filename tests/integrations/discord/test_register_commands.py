"""`manage.py discord_register_commands`."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.helpers.discord import API, APPLICATION_ID

pytestmark = pytest.mark.usefixtures("discord_settings")


def test_registers_every_command_for_one_guild(discord, capsys):
    url = f"{API}/applications/{APPLICATION_ID}/guilds/1234567890123456789/commands"
    discord.put(
        url,
        json=[
            {"id": str(i), "name": n}
            for i, n in enumerate(["link", "verify", "submit", "stats", "payout", "leaderboard"], 1)
        ],
    )
    call_command("discord_register_commands", "--guild", "1234567890123456789")
    sent = json.loads(discord.calls[0].request.body)
    assert [c["name"] for c in sent] == ["link", "verify", "submit", "stats", "payout", "leaderboard"]
    assert discord.calls[0].request.headers["Authorization"].startswith("Bot ")
    assert "Registered 6 commands for guild 1234567890123456789" in capsys.readouterr().out


def test_registers_globally_by_default(discord, settings):
    settings.DISCORD_COMMANDS_GUILD_ID = ""
    discord.put(f"{API}/applications/{APPLICATION_ID}/commands", json=[])
    call_command("discord_register_commands")
    assert len(discord.calls) == 1


def test_missing_settings_are_a_clear_error(settings):
    settings.DISCORD_BOT_TOKEN = ""
    with pytest.raises(CommandError, match="DISCORD_BOT_TOKEN must be set"):
        call_command("discord_register_commands")


def test_discord_refusal_is_a_one_line_error(discord):
    discord.put(
        f"{API}/applications/{APPLICATION_ID}/commands", status=401, json={"message": "401: Unauthorized", "code": 0}
    )
    with pytest.raises(CommandError, match="Discord refused the commands"):
        call_command("discord_register_commands", "--global")
