"""Fixtures for the Discord area: a configured application, signed interactions, a mocked Discord.

Used by the Discord integration's tests and by those that post to Discord from other apps (security
alerts, bot callbacks, reports and bonuses): their conftest.py imports the fixtures, and each module
that runs with the configured application asks for ``pytest.mark.usefixtures("discord_settings")``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import responses
from django.core.cache import cache
from django.test import TestCase

from tests.integrations.discord.signing import PUBLIC_KEY_HEX, signed_headers

API = "https://discord.com/api/v10"
APPLICATION_ID = "1111111111111111111"
INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIz.token"
USER_ID = "1222222222222222222"
URL = "/discord/interactions"
FOLLOWUP_URL = f"{API}/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}/messages/@original"
LOGS_WEBHOOK = "https://discord.com/api/webhooks/1333333333333333333/logs-token"
UPDATES_WEBHOOK = "https://discord.com/api/webhooks/1444444444444444444/updates-token"
ALERT_WEBHOOK = "https://discord.com/api/webhooks/1555555555555555555/alert-token"


@pytest.fixture
def discord_settings(settings):
    settings.DISCORD_PUBLIC_KEY = PUBLIC_KEY_HEX
    settings.DISCORD_APPLICATION_ID = APPLICATION_ID
    settings.DISCORD_BOT_TOKEN = "bot-token-secret"
    settings.SECURITY_ALERT_WEBHOOK_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def discord():
    """Discord's API faked at the transport; unexpected calls fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def interaction(
    name: str,
    options: dict[str, Any] | None = None,
    *,
    guild_id: int | str | None,
    type_: int = 2,
    user_id: str = USER_ID,
    focused: str = "",
    resolved: dict | None = None,
) -> dict[str, Any]:
    """An interaction payload as Discord sends it (only the fields we read, plus a few we ignore)."""
    data: dict[str, Any] = {
        "id": "9",
        "name": name,
        "type": 1,
        "options": [
            {
                "name": k,
                "type": 11 if k == "screenshot" else 3,
                "value": v,
                **({"focused": True} if k == focused else {}),
            }
            for k, v in (options or {}).items()
        ],
    }
    if resolved:
        data["resolved"] = resolved
    payload = {
        "id": "1000",
        "application_id": APPLICATION_ID,
        "type": type_,
        "token": INTERACTION_TOKEN,
        "version": 1,
        "data": data,
    }
    user = {"id": user_id, "username": "maya", "global_name": "Maya"}
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["member"] = {"user": user, "roles": []}
    else:
        payload["user"] = user
    return payload


def post_signed(client, payload: dict[str, Any] | bytes, *, timestamp: str | None = None, headers=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = signed_headers(body, timestamp=timestamp or str(int(time.time())))
    if headers is not None:
        sent = headers
    # In production the view runs outside any transaction, so its deferred work is queued at once;
    # here the test's transaction never commits, so run what the request queued on commit.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(URL, body, content_type="application/json", headers=sent)


def followup_text(discord) -> str:
    """The content of the (single) edit of the deferred response."""
    edits = [c for c in discord.calls if c.request.method == "PATCH" and c.request.url == FOLLOWUP_URL]
    assert len(edits) == 1, [c.request.url for c in discord.calls]
    return json.loads(edits[0].request.body)["content"]
