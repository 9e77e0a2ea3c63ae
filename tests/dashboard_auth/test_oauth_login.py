"""Login with Discord end to end, with Discord faked at the HTTP level (``responses``)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.test import Client

from dashboard_auth.models import DashboardSession, SecurityEvent
from tests.conftest import load_fixture
from tests.factories import make_guild

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

TOKEN_URL = "https://discord.com/api/oauth2/token"
ME_URL = "https://discord.com/api/users/@me"
GUILDS_URL = "https://discord.com/api/v10/users/@me/guilds"


def _guild_entry(guild_id, *, owner=False, permissions=0, name="G"):
    base = load_fixture("discord/guilds.json")["example_array"][0]
    return {**base, "id": str(guild_id), "name": name, "owner": owner, "permissions": str(permissions)}


def _start(client: Client) -> str:
    r = client.get("/api/v1/auth/discord/login")
    assert r.status_code == 302
    location = urlsplit(r["Location"])
    assert location.netloc == "discord.com"
    query = parse_qs(location.query)
    assert query["scope"][0].replace("+", " ").split() == ["identify", "guilds"]  # each scope once
    assert query["prompt"] == ["consent"]
    return query["state"][0]


def _fake_discord(rsps, guilds: list[dict]):
    token = {**load_fixture("discord/token.json"), "scope": "identify guilds"}
    rsps.add(responses.POST, TOKEN_URL, json=token)
    rsps.add(responses.GET, ME_URL, json=load_fixture("discord/me.json"))
    rsps.add(responses.GET, GUILDS_URL, json=guilds)


def test_callback_logs_in_and_keeps_only_manageable_known_guilds():
    owned, admin, manager, member = (make_guild(name=n) for n in ("Owned", "Admin", "Manager", "Member"))
    inactive = make_guild(name="Inactive", active=False)
    unknown_id = 1234567890123456789  # a guild the product does not know
    guilds = [
        _guild_entry(owned.pk, owner=True, name="Owned"),
        _guild_entry(admin.pk, permissions=0x8, name="Admin"),
        _guild_entry(manager.pk, permissions=0x20, name="Manager"),
        _guild_entry(member.pk, permissions=0x400, name="Member"),  # VIEW_CHANNEL only
        _guild_entry(unknown_id, permissions=0x8, name="X"),  # not known to the product
        _guild_entry(inactive.pk, permissions=0x8, name="Inactive"),
    ]
    client = Client()
    state = _start(client)
    with responses.RequestsMock() as rsps:
        _fake_discord(rsps, guilds)
        r = client.get("/api/v1/auth/discord/callback", {"code": "abc", "state": state})
        token_call = rsps.calls[0].request
    # a same-origin page moves on, so the SameSite=Strict cookies travel with the next request
    assert r.status_code == 200 and 'content="0;url=/dashboard/"' in r.content.decode()
    assert "code=abc" in token_call.body
    access, refresh = r.cookies["dashboard_at"], r.cookies["dashboard_rt"]
    assert access["httponly"] and refresh["httponly"] and access["samesite"] == "Strict"
    assert "csrftoken" in r.cookies
    session = DashboardSession.objects.get()
    assert session.user.social_auth.get().uid == "80351110224678912"
    assert session.refresh_token_hash != refresh.value  # stored hashed

    me = client.get("/api/v1/auth/me").json()
    assert me["discord_id"] == "80351110224678912"
    assert {(g["name"], g["is_owner"], g["can_admin"]) for g in me["guilds"]} == {
        ("Owned", True, True),
        ("Admin", False, True),
        ("Manager", False, False),
    }
    # The OAuth access token is kept for the re-check at refresh, never in a response.
    assert "6qrZcUqja7812RVdnEKjpzOL4CvHBFG" not in json.dumps(me)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"error": "access_denied", "error_description": "The resource owner denied the request"}, None),
        ({"code": "abc", "state": "not-the-state"}, None),
        ({"code": "abc"}, None),
    ],
)
def test_failed_login_is_recorded_and_redirects_kindly(query, code):
    client = Client()
    state = _start(client)
    if query.get("state") is None and "error" in query:
        query = {**query, "state": state}
    r = client.get("/api/v1/auth/discord/callback", query)
    assert r.status_code == 302
    assert r["Location"].startswith("/?login_error=")
    assert "dashboard_at" not in r.cookies
    assert DashboardSession.objects.count() == 0
    assert SecurityEvent.objects.filter(kind="login_failed").count() == 1


def test_bad_code_at_discord_is_a_failed_login():
    client = Client()
    state = _start(client)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
        r = client.get("/api/v1/auth/discord/callback", {"code": "used", "state": state})
    assert r.status_code == 302 and r["Location"].startswith("/?login_error=")
    assert SecurityEvent.objects.filter(kind="login_failed").exists()
    assert DashboardSession.objects.count() == 0


def test_discord_guilds_unavailable_fails_the_login_without_a_session():
    client = Client()
    state = _start(client)
    with responses.RequestsMock() as rsps:
        _fake_discord(rsps, [])
        rsps.replace(responses.GET, GUILDS_URL, status=502, json={"message": "Bad gateway"})
        r = client.get("/api/v1/auth/discord/callback", {"code": "abc", "state": state})
    assert r.status_code == 302 and r["Location"].startswith("/?login_error=")
    assert DashboardSession.objects.count() == 0


def test_login_is_rate_limited_per_ip(settings):
    settings.RATE_LIMIT_LOGIN = "2/m"
    client = Client()
    codes = [client.get("/api/v1/auth/discord/login").status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    r = client.get("/api/v1/auth/discord/login")
    assert int(r["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"
