"""Hostile input never reaches a 5xx: a table of bad bodies and query strings is sent to every
operation of the OpenAPI schema (and to the webhook, callback and interaction endpoints, which the
schema does not describe), as a guild admin, as a service key and anonymously. Each answer must be a
2xx/3xx or a 4xx in the one error shape; a 5xx fails the test with the request that caused it.
"""

from __future__ import annotations

import base64
import json
import re
import time

import pytest
from django.test import Client

from core import jsonbody
from dashboard_auth.sessions import start_session
from integrations.webhooks.standard import sign
from tests.factories import make_bonus_rule, make_client_account, make_guild, make_post, make_snapshot
from tests.helpers.api import ADMINISTRATOR, BOT_KEY, WRITER_KEY, grant, make_dashboard_user
from tests.integrations.discord.signing import PUBLIC_KEY_HEX, signed_headers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

DEEP = b"[" * 50_000
BODIES: dict[str, bytes] = {
    "deep nesting": DEEP,
    "deep object": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "unpaired surrogate": b'{"name": "\\ud800", "reason": "\\udfff", "username": "\\ud83d"}',
    "NUL": b'{"name": "a\\u0000b", "reason": "x\\u0000", "discord_user_id": "1\\u0000"}',
    "huge float": b'{"type": 1e400, "amount": 1e400, "place": 1e400}',
    "NaN": b'{"amount": NaN, "views": Infinity}',
    "huge int": b'{"place": 99999999999999999999999999999, "shard_count": 18446744073709551616}',
    "not JSON": b"\xff\xfe not json",
    "array": b"[1, 2, 3]",
    "string": b'"just a string"',
    "empty": b"",
    "long text": json.dumps({"name": "x" * 20_000, "reason": "y" * 20_000}).encode(),
}
QUERIES = [
    "start=9999-12-31&end=9999-12-31",
    "start=0001-01-01&end=0001-01-01",
    "period=bogus",
    "page=99999999999999999999&page_size=-1",
    "creator=9223372036854775808&client_account=-1",
    "q=%00",
    "status=%F0%28%8C%28",
]
CALLBACK_SECRET = "whsec_" + base64.b64encode(b"bot-callback-secret-32-bytes!!!!").decode()
EXTRA_ENDPOINTS = ["/api/webhooks/apify", "/api/webhooks/verify", "/api/callbacks", "/discord/interactions"]


@pytest.fixture
def world(db, settings):
    # Every feature on, so a refusal is the endpoint judging the input, not "not configured".
    settings.BOT_CALLBACK_SIGNING_SECRET = CALLBACK_SECRET
    settings.DISCORD_PUBLIC_KEY = PUBLIC_KEY_HEX
    settings.APIFY_WEBHOOK_SIGNING_SECRET = "s" * 40
    settings.WEBHOOK_SIGNED_PAYLOAD_MODE = "enforce"
    mine, theirs = make_guild(name="Mine"), make_guild(name="Theirs")
    for guild in (mine, theirs):
        post = make_post(guild, client_account=make_client_account(guild))
        make_snapshot(post, views=100)
        make_bonus_rule(guild)
    user = make_dashboard_user()
    grant(user, {mine: ADMINISTRATOR})
    token = start_session(user=user).access_token
    return {
        "guild": mine,
        "callers": {
            "admin": Client(HTTP_AUTHORIZATION=f"Bearer {token}"),
            "service": Client(HTTP_AUTHORIZATION=f"Bearer {WRITER_KEY}"),
            "bot": Client(HTTP_X_API_KEY=BOT_KEY),
            "anonymous": Client(),
        },
    }


def operations(client: Client) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/?format=json").json()
    found = []
    for path, item in schema["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method, path))
    return found


def concrete(path: str, guild_id: int) -> str:
    path = path.replace("{guild_id}", str(guild_id))
    path = re.sub(r"\{discord_user_id\}", "1222222222222222222", path)
    path = re.sub(r"\{name\}", "bot", path)
    return re.sub(r"\{[^}]+\}", "1", path)


def call(client: Client, method: str, url: str, body: bytes | None):
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, data=body, content_type="application/json")


def test_the_table_of_hostile_inputs_never_gets_a_server_error(world):
    guild = world["guild"]
    ops = operations(world["callers"]["anonymous"])
    assert len(ops) > 30  # the whole API, not a corner of it
    failures = []
    for method, path in ops + [("post", p) for p in EXTRA_ENDPOINTS]:
        url = concrete(path, guild.pk)
        for who, client in world["callers"].items():
            attempts = [(f"{url}?{q}", None) for q in QUERIES] if method == "get" else []
            if method != "get":
                attempts += [(url, body) for body in BODIES.values()]
            for target, body in attempts:
                response = call(client, method, target, body)
                if response.status_code >= 500:
                    failures.append(f"{who} {method.upper()} {target[:90]} {body[:40]!r} -> {response.status_code}")
                elif response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
                    error = response.json().get("error", {})
                    assert {"code", "message", "fields"} <= set(error), (target, response.content[:200])
    assert failures == []


def _sign_callback(body: bytes) -> dict[str, str]:
    # Standard Webhooks signs text: a body that is not UTF-8 cannot carry a valid signature at all.
    text = body if body.decode("utf-8", "ignore").encode() == body else b"unsignable"
    return sign(secret=CALLBACK_SECRET, msg_id=f"msg_{time.time_ns()}", timestamp=int(time.time()), body=text)


SIGNERS = {
    "/api/callbacks": _sign_callback,
    "/discord/interactions": lambda body: signed_headers(body, timestamp=str(int(time.time()))),
}


@pytest.mark.parametrize("url", list(SIGNERS))
@pytest.mark.parametrize(("name", "raw"), list(BODIES.items()))
def test_signed_hostile_bodies_are_a_400_that_changes_nothing(world, url, name, raw):
    """Past the signature the body itself is judged: a correctly signed hostile body is a 4xx with a
    message, and nothing is remembered (its id can be used again for a good body)."""
    response = Client().post(url, raw, content_type="application/json", headers=SIGNERS[url](raw))
    assert 400 <= response.status_code < 500, (name, response.status_code, response.content[:200])
    if response.get("Content-Type", "").startswith("application/json") and "error" in response.json():
        assert response.json()["error"]["message"]


@pytest.mark.parametrize(("name", "raw"), list(BODIES.items()))
def test_jsonbody_refuses_each_with_a_reason(name, raw):
    if name in ("array", "string", "long text"):
        assert jsonbody.loads(raw) is not None  # valid JSON: refused later, by the operation's own rules
        return
    with pytest.raises(jsonbody.BadJson) as refused:
        jsonbody.loads(raw)
    assert refused.value.message and "\n" not in refused.value.message
