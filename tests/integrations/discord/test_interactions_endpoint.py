"""The interactions endpoint's signature checks: Discord drops endpoints that accept bad signatures."""

import json
import time

import pytest
from nacl.signing import SigningKey

from dashboard_auth.models import SecurityEvent
from tests.helpers.discord import URL, interaction, post_signed
from tests.integrations.discord.signing import signed_headers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("discord_settings")]
PING = {"type": 1, "id": "1", "application_id": "1111111111111111111", "token": "t", "version": 1}


def _events(bypass):
    with bypass():
        return list(SecurityEvent.objects.filter(source="discord").values_list("kind", "reason"))


def test_ping_gets_pong(client):
    response = post_signed(client, PING)
    assert response.status_code == 200
    assert response.json() == {"type": 1}


def test_tampered_body_is_rejected_with_401_and_recorded(client, bypass):
    body = json.dumps(PING).encode()
    headers = signed_headers(body, timestamp=str(int(time.time())))
    response = client.post(URL, body.replace(b'"1"', b'"2"'), content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert _events(bypass) == [("webhook_rejected", "bad_signature")]


def test_stale_timestamp_is_rejected(client, bypass):
    old = str(int(time.time()) - 3600)
    assert post_signed(client, PING, timestamp=old).status_code == 401
    assert _events(bypass) == [("webhook_rejected", "stale")]


def test_future_timestamp_is_rejected(client):
    assert post_signed(client, PING, timestamp=str(int(time.time()) + 3600)).status_code == 401


def test_signature_from_another_key_is_rejected(client):
    body = json.dumps(PING).encode()
    headers = signed_headers(body, timestamp=str(int(time.time())), key=SigningKey(bytes(32)))
    assert client.post(URL, body, content_type="application/json", headers=headers).status_code == 401


@pytest.mark.parametrize("missing", ["X-Signature-Ed25519", "X-Signature-Timestamp"])
def test_missing_headers_are_rejected(client, bypass, missing):
    body = json.dumps(PING).encode()
    headers = signed_headers(body, timestamp=str(int(time.time())))
    del headers[missing]
    assert post_signed(client, body, headers=headers).status_code == 401
    assert _events(bypass) == [("webhook_rejected", "missing_headers")]


def test_garbage_signature_is_rejected(client):
    headers = {"X-Signature-Ed25519": "zz", "X-Signature-Timestamp": str(int(time.time()))}
    assert post_signed(client, PING, headers=headers).status_code == 401


def test_feature_off_answers_503_with_a_message(client, settings):
    settings.DISCORD_PUBLIC_KEY = ""
    response = post_signed(client, PING)
    assert response.status_code == 503
    assert "DISCORD_PUBLIC_KEY" in response.json()["error"]["message"]


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_signed_garbage_json_is_a_400(client):
    assert post_signed(client, b"not json").status_code == 400


def test_unknown_guild_gets_a_friendly_ephemeral_message(client):
    response = post_signed(client, interaction("stats", guild_id=1234567890123456789))
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["flags"] == 64
    assert data["content"].startswith("This server is not set up with Tracking Data yet")


def test_command_in_direct_messages_is_refused_politely(client):
    data = post_signed(client, interaction("stats", guild_id=None)).json()["data"]
    assert data["flags"] == 64 and "in a server" in data["content"]


def test_deferred_command_in_unknown_guild_answers_at_once(client, discord):
    data = post_signed(client, interaction("submit", {"url": "x", "client": "y"}, guild_id=1234567890123456789))
    assert data.json()["type"] == 4
    assert not discord.calls
