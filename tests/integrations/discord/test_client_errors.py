import traceback

import pytest
import requests
import responses

from integrations.discord.client import DestinationGone, redact_webhook_url
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
    fixture,
    make_client,
    message,
)

CHANNEL_URL = f"{API}/channels/{CHANNEL_ID}/messages"
WEBHOOK_API_URL = f"{API}/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"
REDACTED = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/***"


def _send(client):
    return client.send_channel_message(channel_id=CHANNEL_ID, content="report")


def _send_webhook(client):
    return client.send_webhook_message(webhook_url=WEBHOOK_URL, content="alert")


def _assert_no_secret(error: Exception) -> None:
    """Neither the message nor a logged traceback (chained exceptions included) holds a secret."""
    logged = "".join(traceback.format_exception(error))
    for secret in (BOT_TOKEN, WEBHOOK_TOKEN, INTERACTION_TOKEN):
        assert secret not in f"{error} {error!r} {logged}"


def _rate_limited(retry_after: float) -> dict:
    body = fixture("rate_limit_429.json")
    body["retry_after"] = retry_after
    return body


@responses.activate
def test_rate_limit_is_waited_out_then_the_message_is_sent():
    responses.post(CHANNEL_URL, status=429, json=_rate_limited(1.5), headers={"Retry-After": "2"})
    responses.post(CHANNEL_URL, json=message("321"))
    client, sleep = make_client()

    assert _send(client) == "321"
    assert sleep.calls == [1.5]  # the body's precise float wins over the rounded header
    assert len(responses.calls) == 2


@responses.activate
def test_retry_after_header_is_used_when_the_body_has_none():
    responses.post(CHANNEL_URL, status=429, body="<html>cloudflare</html>", headers={"Retry-After": "3"})
    responses.post(CHANNEL_URL, json=message())
    client, sleep = make_client()

    _send(client)

    assert sleep.calls == [3.0]


@responses.activate
def test_endless_rate_limit_becomes_a_transient_error_with_retry_after():
    responses.post(CHANNEL_URL, status=429, json=_rate_limited(0.5))
    client, sleep = make_client(max_retries=3)

    with pytest.raises(IntegrationError) as caught:
        _send(client)

    assert sleep.calls == [0.5, 0.5, 0.5]
    assert len(responses.calls) == 4
    assert not caught.value.permanent
    assert caught.value.retry_after == 0.5
    assert caught.value.code == "rate_limited"


@responses.activate
def test_long_rate_limit_is_not_slept_in_the_worker():
    # The real sample asks for 64.57 s: the task should be rescheduled, not block a worker.
    responses.post(CHANNEL_URL, status=429, json=fixture("rate_limit_429.json"), headers={"Retry-After": "65"})
    client, sleep = make_client()

    with pytest.raises(IntegrationError) as caught:
        _send(client)

    assert sleep.calls == []
    assert caught.value.retry_after == pytest.approx(64.57)
    assert not caught.value.permanent


@pytest.mark.parametrize(
    ("status", "code", "text"),
    [
        (404, 10015, "Unknown Webhook"),
        (401, 50027, "Invalid Webhook Token"),
        (404, 10003, "Unknown Channel"),
        (403, 50001, "Missing Access"),
    ],
)
@responses.activate
def test_deleted_or_forbidden_destination_is_gone(status, code, text):
    responses.post(WEBHOOK_API_URL, status=status, json={"message": text, "code": code})
    client, _ = make_client()

    with pytest.raises(DestinationGone) as caught:
        _send_webhook(client)

    assert caught.value.permanent
    assert caught.value.code == str(code)
    assert text in str(caught.value)
    assert REDACTED in str(caught.value)
    _assert_no_secret(caught.value)


@responses.activate
def test_plain_404_is_gone():
    responses.post(CHANNEL_URL, status=404, body="Not Found")
    client, _ = make_client()

    with pytest.raises(DestinationGone) as caught:
        _send(client)

    assert caught.value.code == "http_404"


@responses.activate
def test_other_client_errors_are_permanent_but_not_gone():
    responses.post(CHANNEL_URL, status=400, json={"message": "Invalid Form Body", "code": 50035})
    client, _ = make_client()

    with pytest.raises(IntegrationError) as caught:
        _send(client)

    assert not isinstance(caught.value, DestinationGone)
    assert caught.value.permanent and caught.value.code == "50035"
    assert "Invalid Form Body" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503])
@responses.activate
def test_server_errors_are_transient_and_not_retried_here(status):
    responses.post(WEBHOOK_API_URL, status=status, body="upstream connect error")
    client, sleep = make_client()

    with pytest.raises(IntegrationError) as caught:
        _send_webhook(client)

    assert not caught.value.permanent
    assert caught.value.code == f"http_{status}"
    assert len(responses.calls) == 1 and sleep.calls == []
    _assert_no_secret(caught.value)


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (requests.ReadTimeout(f"HTTPSConnectionPool: Read timed out. url={WEBHOOK_API_URL}"), "timeout"),
        (requests.ConnectTimeout(f"connect timeout {WEBHOOK_API_URL}"), "timeout"),
        (requests.ConnectionError(f"Max retries exceeded with url: {WEBHOOK_API_URL}"), "connection_error"),
        (requests.exceptions.ChunkedEncodingError(f"broken {WEBHOOK_API_URL}"), "transport_error"),
    ],
)
@responses.activate
def test_transport_failures_are_transient_and_do_not_leak_the_url(exception, code):
    responses.post(WEBHOOK_API_URL, body=exception)
    client, _ = make_client()

    with pytest.raises(IntegrationError) as caught:
        _send_webhook(client)

    assert not caught.value.permanent and caught.value.code == code
    assert REDACTED in str(caught.value)
    _assert_no_secret(caught.value)


@responses.activate
def test_bot_token_never_appears_in_errors_even_if_discord_echoes_it():
    responses.post(CHANNEL_URL, status=401, json={"message": f"401: Unauthorized {BOT_TOKEN}", "code": 0})
    client, _ = make_client()

    with pytest.raises(IntegrationError) as caught:
        _send(client)

    assert caught.value.permanent
    _assert_no_secret(caught.value)


@responses.activate
def test_interaction_token_never_appears_in_errors():
    responses.post(
        f"{API}/webhooks/{APPLICATION_ID}/{INTERACTION_TOKEN}",
        status=404,
        json={"message": "Unknown Webhook", "code": 10015},
    )
    client, _ = make_client()

    with pytest.raises(DestinationGone) as caught:
        client.create_followup(application_id=APPLICATION_ID, interaction_token=INTERACTION_TOKEN, content="x")

    _assert_no_secret(caught.value)


@responses.activate
def test_success_that_is_not_json_is_a_permanent_bad_response():
    responses.post(CHANNEL_URL, status=200, body="<html>")
    client, _ = make_client()

    with pytest.raises(IntegrationError) as caught:
        _send(client)

    assert caught.value.permanent and caught.value.code == "bad_response"


@pytest.mark.parametrize(
    "url",
    [
        WEBHOOK_URL,
        f"https://discordapp.com/api/v10/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}/",
        f"https://ptb.discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}?thread_id=1",
    ],
)
def test_webhook_urls_are_redacted_to_their_id(url):
    assert redact_webhook_url(url) == REDACTED


def test_invalid_webhook_url_is_not_echoed_when_redacting():
    assert redact_webhook_url(f"https://evil.example/{WEBHOOK_TOKEN}") == "<not a Discord webhook URL>"
