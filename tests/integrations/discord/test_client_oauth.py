import base64
from urllib.parse import parse_qs

import pytest
import responses
from responses import matchers

from integrations.discord.client import DiscordGuild, DiscordUser
from integrations.errors import IntegrationError
from tests.integrations.discord.helpers import API, fixture, make_client

CLIENT_ID = "1049000000000000000"
CLIENT_SECRET = "client-SECRET-do-not-leak"
REDIRECT = "https://dashboard.example/api/v1/auth/discord/callback"
ACCESS_TOKEN = fixture("token.json")["access_token"]


def _guild(**overrides) -> dict:
    guild = dict(fixture("guilds.json")["example_array"][0])
    guild.update(overrides)
    return guild


@responses.activate
def test_code_exchange_parses_the_real_token_response():
    responses.post(f"{API}/oauth2/token", json=fixture("token.json"))
    client, _ = make_client(bot_token=None)

    tokens = client.exchange_code(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code="abc", redirect_uri=REDIRECT)

    assert tokens.access_token == "6qrZcUqja7812RVdnEKjpzOL4CvHBFG"
    assert tokens.refresh_token == "D43f5y0ahjqew82jZ4NViEr2YafMKhue"
    assert tokens.token_type == "Bearer" and tokens.expires_in == 604800
    assert tokens.scopes == ("identify",)
    assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)


@responses.activate
def test_code_exchange_is_form_encoded_with_client_credentials_in_basic_auth():
    responses.post(f"{API}/oauth2/token", json=fixture("token.json"))
    client, _ = make_client(bot_token=None)

    client.exchange_code(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code="abc", redirect_uri=REDIRECT)

    request = responses.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body) == {
        "grant_type": ["authorization_code"],
        "code": ["abc"],
        "redirect_uri": [REDIRECT],
    }
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


@responses.activate
def test_used_code_is_a_permanent_invalid_grant_without_the_secret():
    responses.post(
        f"{API}/oauth2/token",
        status=400,
        json={"error": "invalid_grant", "error_description": 'Invalid "code" in request.'},
    )
    client, _ = make_client(bot_token=None)

    with pytest.raises(IntegrationError) as caught:
        client.exchange_code(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code="used", redirect_uri=REDIRECT)

    assert caught.value.permanent and caught.value.code == "invalid_grant"
    assert 'Invalid "code"' in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)


@responses.activate
def test_current_user_parses_the_real_sample():
    responses.get(
        f"{API}/users/@me",
        json=fixture("me.json"),
        match=[matchers.header_matcher({"Authorization": f"Bearer {ACCESS_TOKEN}"})],
    )
    client, _ = make_client(bot_token=None)

    user = client.get_current_user(access_token=ACCESS_TOKEN)

    assert user == DiscordUser(
        id="80351110224678912", username="Nelly", global_name=None, avatar="8342729096ea3675442027381ff50dfe"
    )
    assert user.avatar_url == (
        "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
    )


@responses.activate
def test_expired_access_token_is_permanent():
    responses.get(f"{API}/users/@me", status=401, json={"message": "401: Unauthorized", "code": 0})
    client, _ = make_client(bot_token=None)

    with pytest.raises(IntegrationError) as caught:
        client.get_current_user(access_token=ACCESS_TOKEN)

    assert caught.value.permanent and caught.value.code == "http_401"
    assert ACCESS_TOKEN not in str(caught.value)


@responses.activate
def test_guilds_parse_the_real_sample_with_string_permissions():
    responses.get(
        f"{API}/users/@me/guilds",
        json=fixture("guilds.json")["example_array"],
        match=[matchers.header_matcher({"Authorization": f"Bearer {ACCESS_TOKEN}"})],
    )
    client, _ = make_client(bot_token=None)

    guilds = client.get_current_user_guilds(access_token=ACCESS_TOKEN)

    assert guilds == [
        DiscordGuild(
            id="80351110224678912",
            name="1337 Krew",
            icon="8342729096ea3675442027381ff50dfe",
            owner=True,
            permissions=36953089,
        )
    ]
    assert guilds[0].can_manage  # the owner, although the bitfield has neither ADMINISTRATOR nor MANAGE_GUILD


@pytest.mark.parametrize(
    ("owner", "permissions", "can_manage"),
    [(False, "8", True), (False, "32", True), (False, "36953089", False), (False, "0", False)],
)
def test_who_can_manage_a_guild(owner, permissions, can_manage):
    guild = DiscordGuild(id="1", name="g", icon=None, owner=owner, permissions=int(permissions))
    assert guild.can_manage is can_manage


@responses.activate
def test_users_in_more_than_200_guilds_get_every_page():
    first = [_guild(id=str(1000 + i), owner=False) for i in range(200)]
    second = [_guild(id="5000", owner=False)]
    responses.get(f"{API}/users/@me/guilds", json=first, match=[matchers.query_param_matcher({"limit": "200"})])
    responses.get(
        f"{API}/users/@me/guilds",
        json=second,
        match=[matchers.query_param_matcher({"limit": "200", "after": "1199"})],
    )
    client, _ = make_client(bot_token=None)

    guilds = client.get_current_user_guilds(access_token=ACCESS_TOKEN)

    assert len(guilds) == 201 and guilds[-1].id == "5000"


@responses.activate
def test_malformed_permissions_are_a_bad_response():
    responses.get(f"{API}/users/@me/guilds", json=[_guild(permissions="lots")])
    client, _ = make_client(bot_token=None)

    with pytest.raises(IntegrationError) as caught:
        client.get_current_user_guilds(access_token=ACCESS_TOKEN)

    assert caught.value.permanent and caught.value.code == "bad_response"
