"""Our Apify client against a local fake of the Apify API (real HTTP, real apify-client underneath)."""

from __future__ import annotations

import json
import socket

import pytest

from integrations.apify.actors import build_metrics_input
from integrations.apify.client import ApifyClient, RunInfo
from integrations.apify.tokens import RUN_TOKEN_HEADER, sign_run_token
from integrations.errors import IntegrationError
from tests.integrations.apify.fixtures import load

WEBHOOK_URL = "https://tracking.example/api/webhooks/apify"


def _client(server, **kwargs) -> ApifyClient:
    options = {"token": "apify-test-token", "base_url": server.base_url, "retry_delay_s": 0.01, "timeout_s": 5}
    return ApifyClient(**(options | kwargs))


def test_start_run_sends_input_and_a_webhook_carrying_the_run_token(apify_server):
    token = sign_run_token(registry_id=7, issued_at=1_775_000_000, secret="s")
    run_input = build_metrics_input(platform="tiktok", urls=["https://www.tiktok.com/@a/video/1"])

    run = _client(apify_server).start_run(
        actor_id="clockworks/tiktok-scraper",
        run_input=run_input,
        webhook_url=WEBHOOK_URL,
        webhook_headers={RUN_TOKEN_HEADER: token},
    )

    started = apify_server.started_runs[0]
    assert started.actor_id == "clockworks~tiktok-scraper"
    assert started.input == run_input
    [webhook] = started.webhooks
    assert webhook["requestUrl"] == WEBHOOK_URL
    assert webhook["eventTypes"] == [
        "ACTOR.RUN.SUCCEEDED",
        "ACTOR.RUN.FAILED",
        "ACTOR.RUN.TIMED_OUT",
        "ACTOR.RUN.ABORTED",
    ]
    assert json.loads(webhook["headersTemplate"]) == {"X-Tracking-Run-Token": token}
    assert run.run_id == started.run_id
    assert run.status == "READY" and not run.is_terminal
    assert run.dataset_id == f"ds-{started.run_id}"


def test_requests_carry_the_api_token(apify_server):
    apify_server.expected_token = "apify-test-token"
    apify_server.add_run("r1")

    assert _client(apify_server).get_run(run_id="r1").succeeded
    with pytest.raises(IntegrationError) as exc:
        _client(apify_server, token="wrong").get_run(run_id="r1")
    assert exc.value.permanent and exc.value.code == "token-not-valid"


def test_large_input_arrives_intact(apify_server):
    # apify-client gzips bodies over 1 KiB; the input must still be what we built.
    urls = [f"https://www.instagram.com/p/CODE{i:04d}/" for i in range(80)]
    run_input = build_metrics_input(platform="instagram", urls=urls)

    _client(apify_server).start_run(
        actor_id="apify/instagram-scraper", run_input=run_input, webhook_url=WEBHOOK_URL, webhook_headers={}
    )

    assert apify_server.started_runs[0].input == run_input


def test_get_run_reports_status_dataset_and_times(apify_server):
    apify_server.add_run("r1", status="SUCCEEDED", dataset_id="ds1", status_message="Finished!")

    run = _client(apify_server).get_run(run_id="r1")

    assert (run.run_id, run.status, run.dataset_id, run.status_message) == ("r1", "SUCCEEDED", "ds1", "Finished!")
    assert run.actor_id == "fakeActorId0001"
    assert run.is_terminal and run.succeeded
    assert run.started_at.tzinfo is not None and run.finished_at is not None


@pytest.mark.parametrize(
    ("status", "terminal", "succeeded"),
    [
        ("READY", False, False),
        ("RUNNING", False, False),
        ("TIMING-OUT", False, False),
        ("ABORTING", False, False),
        ("SUCCEEDED", True, True),
        ("FAILED", True, False),
        ("TIMED-OUT", True, False),
        ("ABORTED", True, False),
    ],
)
def test_run_status_meaning(status, terminal, succeeded):
    run = RunInfo("r", "a", status, "d", None, None, None)

    assert (run.is_terminal, run.succeeded) == (terminal, succeeded)


def test_dataset_is_read_across_pages(apify_server):
    items = [load("tiktok_item") | {"id": str(i)} for i in range(7)]
    apify_server.add_run("r1", dataset_id="ds1", items=items)

    got = list(_client(apify_server).iter_dataset_items(dataset_id="ds1", page_size=3))

    assert [item["id"] for item in got] == [str(i) for i in range(7)]
    pages = [(r.query["offset"], r.query["limit"]) for r in apify_server.requests_to("/v2/datasets/ds1/items")]
    assert pages[:3] == [("0", "3"), ("3", "3"), ("6", "3")]


def test_rate_limit_then_success_is_retried_transparently(apify_server):
    apify_server.add_run("r1")
    apify_server.fail("/v2/actor-runs/r1", 429, retry_after=1)

    assert _client(apify_server).get_run(run_id="r1").succeeded
    assert len(apify_server.requests_to("/v2/actor-runs/r1")) == 2


def test_rate_limit_that_persists_is_transient_with_retry_after(apify_server):
    apify_server.fail_always("/v2/actor-runs/r1", 429, retry_after=30)

    with pytest.raises(IntegrationError) as exc:
        _client(apify_server, max_retries=1).get_run(run_id="r1")

    assert exc.value.permanent is False
    assert exc.value.retry_after == 30


def test_unknown_run_is_permanent(apify_server):
    with pytest.raises(IntegrationError) as exc:
        _client(apify_server).get_run(run_id="missing")

    assert exc.value.permanent is True
    assert exc.value.code == "not_found"
    assert len(apify_server.requests_to("/v2/actor-runs/missing")) == 1  # a 404 is not retried


def test_unknown_dataset_is_permanent(apify_server):
    with pytest.raises(IntegrationError) as exc:
        list(_client(apify_server).iter_dataset_items(dataset_id="missing"))

    assert exc.value.permanent is True
    assert "HTTP 404" in exc.value.message


def test_rejected_input_is_permanent(apify_server):
    body = {"type": "invalid-input", "message": "Input is not valid: Field input.postURLs is required"}
    apify_server.fail("/v2/actors/clockworks~tiktok-scraper/runs", 400, body=body)

    with pytest.raises(IntegrationError) as exc:
        _client(apify_server).start_run(
            actor_id="clockworks/tiktok-scraper", run_input={}, webhook_url=WEBHOOK_URL, webhook_headers={}
        )

    assert exc.value.permanent is True
    assert exc.value.code == "invalid-input"
    assert "postURLs is required" in str(exc.value)


def test_server_errors_that_persist_are_transient_after_retries(apify_server):
    apify_server.fail_always("/v2/actor-runs/r1", 500)

    with pytest.raises(IntegrationError) as exc:
        _client(apify_server, max_retries=2).get_run(run_id="r1")

    assert exc.value.permanent is False
    assert exc.value.retry_after is None
    assert len(apify_server.requests_to("/v2/actor-runs/r1")) == 3  # first attempt + 2 retries


def test_server_error_mid_dataset_is_transient(apify_server):
    apify_server.add_run("r1", dataset_id="ds1", items=[{"id": str(i)} for i in range(4)])
    client = _client(apify_server, max_retries=0)
    pages = client.iter_dataset_items(dataset_id="ds1", page_size=2)

    assert next(pages) == {"id": "0"}
    apify_server.fail_always("/v2/datasets/ds1/items", 502)
    assert next(pages) == {"id": "1"}  # still from the first page
    with pytest.raises(IntegrationError) as exc:
        next(pages)
    assert exc.value.permanent is False


def test_connection_refused_is_transient():
    with socket.socket() as sock:  # a port nobody listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ApifyClient(token="t", base_url=f"http://127.0.0.1:{port}", max_retries=1, retry_delay_s=0.01)

    with pytest.raises(IntegrationError) as exc:
        client.get_run(run_id="r1")

    assert exc.value.permanent is False
    assert exc.value.code == "network"


def test_timeout_is_transient(apify_server):
    apify_server.add_run("r1")
    apify_server.delay("/v2/actor-runs/r1", 1.0)

    with pytest.raises(IntegrationError) as exc:
        _client(apify_server, timeout_s=0.2, max_retries=0).get_run(run_id="r1")

    assert exc.value.permanent is False
    assert exc.value.code == "timeout"


def test_malformed_run_is_permanent(apify_server):
    run = apify_server.add_run("r1")
    del run["defaultDatasetId"], run["status"]

    with pytest.raises(IntegrationError) as exc:
        _client(apify_server).get_run(run_id="r1")

    assert exc.value.permanent is True
    assert exc.value.code == "malformed"


def test_error_messages_never_contain_the_api_token(apify_server):
    apify_server.fail_always("/v2/actor-runs/r1", 500)

    with pytest.raises(IntegrationError) as exc:
        _client(apify_server, token="super-secret-token", max_retries=0).get_run(run_id="r1")

    assert "super-secret-token" not in str(exc.value)
