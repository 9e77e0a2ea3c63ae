import json

import pytest
import requests
import responses
from responses import matchers

from integrations.discord.client import DiscordClient, Embed
from integrations.errors import IntegrationError
from tests.integrations.discord.helpers import (
    API,
    APPLICATION_ID,
    BOT_TOKEN,
    CHANNEL_ID,
    INTERACTION_TOKEN,
    WEBHOOK_ID,
    WEBHOOK_TOKEN,
    WEBHOOK_URL,
    make_client,
    message,
)

ZWSP = "\u200b"


def _sent(call) -> dict:
    return json.loads(call.request.body)


@responses.activate
def test_channel_message_is_posted_as_the_bot_with_no_mass_mentions():
    responses.post(f"{API}/channels/{CHANNEL_ID}/messages", json=message("777"))
    client, _ = make_client()

    message_id = client.send_channel_message(
        channel_id=CHANNEL_ID,
        content="New post by alice",
        embeds=[Embed(title="Post", description="+1k views")],
    )

    assert message_id == "777"
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bot {BOT_TOKEN}"
    assert request.headers["User-Agent"].startswith("DiscordBot (")
    assert request.headers["Content-Type"] == "application/json"
    assert _sent(responses.calls[0]) == {
        "content": "New post by alice",
        "embeds": [{"title": "Post", "description": "+1k views"}],
        "allowed_mentions": {"parse": []},
    }


class TimeoutRecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[object] = []

    def request(self, *args, **kwargs):
        self.timeouts.append(kwargs.get("timeout"))
        return super().request(*args, **kwargs)


@responses.activate
def test_every_request_has_the_configured_timeout():
    session = TimeoutRecordingSession()
    responses.post(f"{API}/channels/{CHANNEL_ID}/messages", json=message())
    responses.get(f"{API}/users/@me", json={"id": "1", "username": "u"})
    client, _ = make_client(timeout_s=1.25, session=session)

    client.send_channel_message(channel_id=CHANNEL_ID, content="x")
    client.get_current_user(access_token="at")

    assert session.timeouts == [1.25, 1.25]


@responses.activate
def test_everyone_in_content_is_neutralised_in_what_discord_receives():
    responses.post(f"{API}/channels/{CHANNEL_ID}/messages", json=message())
    client, _ = make_client()

    client.send_channel_message(channel_id=CHANNEL_ID, content="@everyone look @here")

    assert _sent(responses.calls[0])["content"] == f"@{ZWSP}everyone look @{ZWSP}here"


@responses.activate
def test_user_mentions_can_be_allowed_explicitly():
    responses.post(f"{API}/channels/{CHANNEL_ID}/messages", json=message())
    client, _ = make_client()

    client.send_channel_message(channel_id=CHANNEL_ID, content="<@42> your post is live", mention_user_ids=["42"])

    assert _sent(responses.calls[0])["allowed_mentions"] == {"parse": [], "users": ["42"]}


@responses.activate
def test_oversized_embeds_are_truncated_before_sending():
    responses.post(f"{API}/channels/{CHANNEL_ID}/messages", json=message())
    client, _ = make_client()
    embeds = [Embed(title="t" * 400, description="d" * 5000)] * 12

    client.send_channel_message(channel_id=CHANNEL_ID, embeds=embeds)

    sent = _sent(responses.calls[0])["embeds"]
    assert 1 <= len(sent) <= 10
    assert len(sent[0]["title"]) == 256
    assert sum(len(e.get("title", "")) + len(e.get("description", "")) for e in sent) <= 6000


def test_bot_calls_without_a_token_fail_permanently_without_a_request():
    client, _ = make_client(bot_token=None)
    with pytest.raises(IntegrationError) as caught:
        client.send_channel_message(channel_id=CHANNEL_ID, content="x")
    assert caught.value.permanent and caught.value.code == "not_configured"


@responses.activate
def test_webhook_message_waits_for_the_created_message():
    responses.post(
        f"{API}/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
        json=message("888"),
        match=[matchers.query_param_matcher({"wait": "true"})],
    )
    client, _ = make_client(bot_token=None)

    message_id = client.send_webhook_message(webhook_url=WEBHOOK_URL, content="@here alert", username="Tracking Data")

    assert message_id == "888"
    request = responses.calls[0].request
    assert "Authorization" not in request.headers  # the token in the URL is the credential
    assert _sent(responses.calls[0]) == {
        "content": f"@{ZWSP}here alert",
        "embeds": [],
        "allowed_mentions": {"parse": []},
        "username": "Tracking Data",
    }


@responses.activate
def test_webhook_url_variants_are_accepted_and_thread_id_is_kept():
    responses.post(
        f"{API}/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
        json=message(),
        match=[matchers.query_param_matcher({"wait": "true", "thread_id": "42"})],
    )
    client, _ = make_client(bot_token=None)
    url = f"https://canary.discordapp.com/api/v9/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}?thread_id=42"

    assert client.send_webhook_message(webhook_url=url, content="x") == "555"


@pytest.mark.parametrize(
    "url",
    [
        f"http://discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
        f"https://evil.example/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
        f"https://discord.com.evil.example/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
        f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}/../../users/@me",
        "not a url",
    ],
)
def test_non_discord_webhook_urls_are_refused_without_leaking_them(url):
    client, _ = make_client(bot_token=None)
    with pytest.raises(IntegrationError) as caught:
        client.send_webhook_message(webhook_url=url, content="x")
    assert caught.value.permanent and caught.value.code == "invalid_destination"
    assert WEBHOOK_TOKEN not in str(caught.value)


@responses.activate
def test_ephemeral_followup_is_sent_with_the_interaction_token():
    responses.post(f"{API}/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}", json=message("901"))
    client, _ = make_client(bot_token=None)

    message_id = client.create_followup(
        application_id=APPLICATION_ID,
        interaction_token=INTERACTION_TOKEN,
        content="Submitted!",
        ephemeral=True,
    )

    assert message_id == "901"
    assert _sent(responses.calls[0]) == {
        "content": "Submitted!",
        "embeds": [],
        "allowed_mentions": {"parse": []},
        "flags": 64,
    }


@responses.activate
def test_deferred_response_is_edited_in_place():
    responses.patch(f"{API}/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}/messages/@original", json=message("902"))
    client, _ = make_client(bot_token=None)

    message_id = client.edit_original_response(
        application_id=APPLICATION_ID, interaction_token=INTERACTION_TOKEN, embeds=[Embed(title="Done")]
    )

    assert message_id == "902"
    assert _sent(responses.calls[0])["embeds"] == [{"title": "Done"}]


def test_malformed_interaction_token_is_refused_without_a_request():
    client, _ = make_client()
    with pytest.raises(IntegrationError) as caught:
        client.create_followup(application_id=APPLICATION_ID, interaction_token="a/../b", content="x")
    assert caught.value.permanent


@responses.activate
def test_global_commands_are_bulk_overwritten():
    commands = [{"name": "submit", "description": "Submit a post", "type": 1}]
    responses.put(
        f"{API}/applications/{APPLICATION_ID}/commands",
        json=[{"id": "3001", "name": "submit", "application_id": APPLICATION_ID}],
        match=[matchers.json_params_matcher(commands)],
    )
    client, _ = make_client()

    registered = client.register_commands(application_id=APPLICATION_ID, commands=commands)

    assert [(c.id, c.name) for c in registered] == [("3001", "submit")]
    assert responses.calls[0].request.headers["Authorization"] == f"Bot {BOT_TOKEN}"


@responses.activate
def test_guild_commands_go_to_the_guild_endpoint():
    responses.put(f"{API}/applications/{APPLICATION_ID}/guilds/42/commands", json=[])
    client, _ = make_client()
    assert client.register_commands(application_id=APPLICATION_ID, commands=[], guild_id="42") == []


@responses.activate
def test_default_client_talks_to_discord_api_v10():
    responses.post(f"https://discord.com/api/v10/channels/{CHANNEL_ID}/messages", json=message("1"))
    assert DiscordClient(bot_token=BOT_TOKEN).send_channel_message(channel_id=CHANNEL_ID, content="x") == "1"


@pytest.mark.parametrize("channel_id", ["../users/@me", "12a", "", WEBHOOK_URL])
def test_malformed_channel_id_is_refused_without_a_request_or_echo(channel_id):
    client, _ = make_client()
    with pytest.raises(IntegrationError) as caught:
        client.send_channel_message(channel_id=channel_id, content="x")
    assert caught.value.permanent and caught.value.code == "invalid_destination"
    assert WEBHOOK_TOKEN not in str(caught.value)


# --- direct messages ------------------------------------------------------------------------------

DM_USER = "1222222222222222222"
DM_CHANNEL = "1399999999999999999"


@responses.activate
def test_direct_message_opens_the_dm_channel_then_posts_there_as_the_bot():
    responses.post(
        f"{API}/users/@me/channels",
        json={"id": DM_CHANNEL, "type": 1},
        match=[matchers.header_matcher({"Authorization": f"Bot {BOT_TOKEN}"})],
    )
    responses.post(f"{API}/channels/{DM_CHANNEL}/messages", json=message("888"))
    client, _ = make_client()

    message_id = client.send_direct_message(user_id=DM_USER, embeds=[Embed(title="Your post was flagged")])

    assert message_id == "888"
    assert _sent(responses.calls[0]) == {"recipient_id": DM_USER}
    assert _sent(responses.calls[1])["embeds"][0]["title"] == "Your post was flagged"
    assert all(c.request.req_kwargs["timeout"] == 2.5 for c in responses.calls)


@responses.activate
def test_direct_message_to_a_user_with_dms_closed_is_permanent_code_50007():
    responses.post(f"{API}/users/@me/channels", json={"id": DM_CHANNEL, "type": 1})
    responses.post(
        f"{API}/channels/{DM_CHANNEL}/messages",
        status=403,
        json={"message": f"Cannot send messages to this user {BOT_TOKEN}", "code": 50007},
    )
    client, _ = make_client()

    with pytest.raises(IntegrationError) as caught:
        client.send_direct_message(user_id=DM_USER, content="hi")

    assert (caught.value.permanent, caught.value.code) == (True, "50007")
    assert "Cannot send messages to this user" in caught.value.message
    assert BOT_TOKEN not in caught.value.message


def test_direct_message_needs_the_bot_token_and_a_valid_user_id():
    client, _ = make_client(bot_token=None)
    with pytest.raises(IntegrationError, match="DISCORD_BOT_TOKEN is not set"):
        client.open_dm_channel(user_id=DM_USER)
    client, _ = make_client()
    with pytest.raises(IntegrationError, match="not a valid id"):
        client.open_dm_channel(user_id="../guilds/1")
