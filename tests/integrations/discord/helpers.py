"""Shared pieces for Discord client tests: the real samples and a client wired for `responses`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integrations.discord.client import DiscordClient

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "discord"
API = "https://discord.com/api/v10"
BOT_TOKEN = "MTE-bot-token.secret-part-do-not-leak"
WEBHOOK_ID = "12345678901234567899"
WEBHOOK_TOKEN = "wh-token_SECRET-do-not-leak"
WEBHOOK_URL = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"
CHANNEL_ID = "1287654321098765432"
APPLICATION_ID = "1111111111111111111"
INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIz.interaction-SECRET"


def fixture(name: str) -> Any:
    """A sample from tests/fixtures/discord/ without its explanatory "_note"."""
    data = json.loads((FIXTURES / name).read_text())
    if isinstance(data, dict):
        data.pop("_note", None)
    return data


def message(message_id: str = "555") -> dict[str, Any]:
    """The few fields of a Discord message object the client reads."""
    return {"id": message_id, "channel_id": CHANNEL_ID, "content": "", "embeds": []}


class SleepRecorder:
    """Stands in for time.sleep so rate-limit tests neither wait nor lose what was asked."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(**overrides: Any) -> tuple[DiscordClient, SleepRecorder]:
    sleep = SleepRecorder()
    options: dict[str, Any] = {"bot_token": BOT_TOKEN, "sleep": sleep, "timeout_s": 2.5}
    options.update(overrides)
    return DiscordClient(**options), sleep
