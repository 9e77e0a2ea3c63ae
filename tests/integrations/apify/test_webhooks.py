"""The whole loop (start → webhook → fetch → snapshots) and every refusal of /api/webhooks/apify."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dashboard_auth.models import SecurityEvent
from guilds.models import GuildNotification
from integrations.apify.tokens import RUN_TOKEN_HEADER, sign_run_token
from integrations.models import ApifyRunRegistry, WebhookDelivery
from metrics.collection import start_metrics_run
from metrics.models import VideoMetrics
from tests.helpers.apify import (
    SECRET,
    make_posts,
    post_webhook,
    process_deliveries,
    tiktok_item,
    webhook_body,
    webhook_headers,
)
from tracking.models import Post

pytestmark = pytest.mark.django_db
URL = "/api/webhooks/apify"


@pytest.fixture
def started(guild, apify):
    """A metrics run of 3 posts started against the fake Apify, whose dataset holds their items."""
    posts = make_posts(guild, 3, status=Post.Status.SUBMITTED)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    fake = apify.started_runs[-1]
    apify.add_items(f"ds-{fake.run_id}", [tiktok_item(p, views=1000 + i) for i, p in enumerate(posts)])
    apify.set_run_status(fake.run_id, "SUCCEEDED")
    return run, fake, posts


def snapshot_count(bypass) -> int:
    with bypass():
        return VideoMetrics.objects.count()


def test_start_webhook_fetch_store(client, started, apify, bypass):
    run, fake, posts = started
    assert fake.actor_id == "clockworks~tiktok-scraper"
    assert fake.input["postURLs"] == [p.canonical_url for p in posts]
    assert fake.webhooks[0]["requestUrl"] == "https://tracking.example.com/api/webhooks/apify"
    assert run.status == "initiated" and run.apify_run_id == fake.run_id and run.post_ids == [p.pk for p in posts]
    response = post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake))
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get(run=run)
    assert delivery.state == "to_process"  # stored before the answer; nothing fetched yet
    assert not apify.requests_to(f"/v2/actor-runs/{fake.run_id}")
    assert process_deliveries().done == 1
    with bypass():
        run.refresh_from_db()
        assert run.status == "succeeded" and run.item_count == 3
        assert sorted(VideoMetrics.objects.values_list("views", flat=True)) == [1000, 1001, 1002]
        assert set(Post.objects.filter(pk__in=[p.pk for p in posts]).values_list("status", flat=True)) == {"tracking"}
    assert apify.requests_to(f"/v2/actor-runs/{fake.run_id}")  # the state came from Apify, not the body


def test_the_body_is_never_trusted_for_data(client, started, apify, bypass):
    run, fake, _ = started
    body = json.loads(webhook_body(fake.run_id))
    body["resource"]["defaultDatasetId"] = "someone-elses-dataset"
    body["items"] = [{"id": "1", "playCount": 10**9}]
    post_webhook(client, URL, json.dumps(body).encode(), webhook_headers(fake))
    process_deliveries()
    assert not apify.requests_to("/v2/datasets/someone-elses-dataset/items")
    with bypass():
        assert max(VideoMetrics.objects.values_list("views", flat=True)) == 1002


def test_a_duplicate_dispatch_gets_200_and_is_processed_once(client, started, apify, bypass):
    run, fake, _ = started
    headers = webhook_headers(fake, dispatch_id="same-dispatch")
    first = post_webhook(client, URL, webhook_body(fake.run_id), headers)
    again = post_webhook(client, URL, webhook_body(fake.run_id), headers)  # not processed yet: queued again
    process_deliveries()
    late = post_webhook(client, URL, webhook_body(fake.run_id), headers)  # processed: a duplicate
    assert (first.status_code, again.status_code, late.status_code) == (202, 202, 200)
    assert late.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.filter(delivery_id="same-dispatch").count() == 1
    assert len(apify.requests_to(f"/v2/actor-runs/{fake.run_id}")) == 1
    assert snapshot_count(bypass) == 3


def test_a_failed_run_is_recorded_once_even_if_told_twice(client, guild, apify, bypass):
    posts = make_posts(guild, 2)
    start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    fake = apify.started_runs[-1]
    apify.set_run_status(fake.run_id, "TIMED-OUT")
    for _ in range(2):  # two dispatches (Apify retried): the run fails once
        r = post_webhook(client, URL, webhook_body(fake.run_id, "ACTOR.RUN.TIMED_OUT"), webhook_headers(fake))
        assert r.status_code == 202
    assert process_deliveries().done == 2
    with bypass():
        run = ApifyRunRegistry.objects.get(apify_run_id=fake.run_id)
        assert run.status == "failed" and "timed-out" in run.status_message
        assert list(Post.objects.filter(pk__in=[p.pk for p in posts]).values_list("failure_count", flat=True)) == [1, 1]
        # backed off: not due again at the next cycle, but within the day
        for due in Post.objects.filter(pk__in=[p.pk for p in posts]).values_list("next_refresh_at", flat=True):
            assert timezone.now() + timedelta(minutes=30) < due < timezone.now() + timedelta(hours=25)
        notes = GuildNotification.objects.filter(guild=guild, kind="run_failed")
        assert [n.event_key for n in notes] == [f"run_failed:{run.pk}"]
    assert snapshot_count(bypass) == 0


# ---------------------------------------------------------------------------------------------- refusals


def _token_for(registry_id, issued_at=None) -> str:
    issued_at = issued_at if issued_at is not None else int(timezone.now().timestamp())
    return sign_run_token(registry_id=registry_id, issued_at=issued_at, secret=SECRET)


def _refusals(started_run_pk, fake):
    good = webhook_headers(fake)
    body = webhook_body(fake.run_id)
    without_token = {k: v for k, v in good.items() if k != RUN_TOKEN_HEADER}
    return {
        "missing token": (without_token, body, 401, "is missing"),
        "bad token": ({**good, RUN_TOKEN_HEADER: good[RUN_TOKEN_HEADER][:-4] + "0000"}, body, 401, "bad signature"),
        "malformed token": ({**good, RUN_TOKEN_HEADER: "not-a-token"}, body, 401, "malformed"),
        "token of another secret": (
            {**good, RUN_TOKEN_HEADER: sign_run_token(registry_id=started_run_pk, issued_at=1, secret="x" * 40)},
            body,
            401,
            "bad signature",
        ),
        "unknown run": ({**good, RUN_TOKEN_HEADER: _token_for(started_run_pk + 1000)}, body, 404, "no run of ours"),
        "wrong origin": ({**good, "X-Apify-Request-Origin": "evil.example"}, body, 403, "not an allowed origin"),
        "no origin": ({k: v for k, v in good.items() if k != "X-Apify-Request-Origin"}, body, 403, "origin"),
        "malformed JSON": (good, b'{"eventType": ', 400, "not valid JSON"),
        "JSON that is not an object": (good, b"[1, 2]", 400, "JSON object"),
        "no dispatch id": (
            {k: v for k, v in good.items() if k != "X-Apify-Webhook-Dispatch-Id"},
            body,
            400,
            "Dispatch-Id",
        ),
        "body over 1 MB": (good, b" " * (1024 * 1024 + 1), 413, "over 1048576 bytes"),
    }


REFUSALS = [
    "missing token",
    "bad token",
    "malformed token",
    "token of another secret",
    "unknown run",
    "wrong origin",
    "no origin",
    "malformed JSON",
    "JSON that is not an object",
    "no dispatch id",
    "body over 1 MB",
]


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_deliveries_get_a_4xx_and_change_nothing(
    client, started, bypass, case, django_capture_on_commit_callbacks
):
    run, fake, _ = started
    headers, body, status, message = _refusals(run.pk, fake)[case]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(client, URL, body, headers)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]
    assert callbacks == []
    assert WebhookDelivery.objects.count() == 0
    assert snapshot_count(bypass) == 0
    event = SecurityEvent.objects.get()
    assert (event.kind, event.source, event.ip) == ("webhook_rejected", "apify", "127.0.0.1")


def test_a_token_for_another_run_is_refused(client, guild, apify, started, bypass):
    run, fake, _ = started
    (other_post,) = make_posts(guild, 1)
    start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[other_post.pk])
    other = apify.started_runs[-1]
    response = post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(other))
    assert response.status_code == 403 and "another run" in response.json()["error"]["message"]
    assert WebhookDelivery.objects.count() == 0 and SecurityEvent.objects.count() == 1


def test_an_expired_run_is_refused(client, started, bypass):
    run, fake, _ = started
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        response = post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake))
    assert response.status_code in (401, 410)
    assert WebhookDelivery.objects.count() == 0 and SecurityEvent.objects.count() == 1
    with bypass():
        ApifyRunRegistry.objects.filter(pk=run.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake))
    assert response.status_code == 410 and "expired" in response.json()["error"]["message"]
    assert WebhookDelivery.objects.count() == 0
    assert sum(SecurityEvent.objects.values_list("count", flat=True)) == 2  # repeats add to one row's count


def test_a_metrics_token_is_refused_on_the_verify_endpoint(client, started):
    run, fake, _ = started
    response = post_webhook(client, "/api/webhooks/verify", webhook_body(fake.run_id), webhook_headers(fake))
    assert response.status_code == 404
    assert SecurityEvent.objects.get().source == "verify"


def test_a_declared_length_over_the_limit_is_refused_unread(client, started):
    run, fake, _ = started
    response = client.post(
        URL,
        data=b"{}",
        content_type="application/json",
        headers=webhook_headers(fake),
        CONTENT_LENGTH=str(2 * 1024 * 1024),
    )
    assert response.status_code == 413


def test_log_mode_accepts_an_unknown_origin(client, started, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_SIGNED_PAYLOAD_MODE = "log"
    run, fake, _ = started
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake, origin="elsewhere"))
    assert response.status_code == 202
