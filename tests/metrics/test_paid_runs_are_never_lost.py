"""Every run Apify really started is ingested exactly once, or its posts rescheduled and the run
counted in the budget — whatever happened to the start call, the webhook or the process
(metrics.runs). In-process here against the fake Apify; tests/faults kills real processes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.deferred import wake_worker
from guilds.models import GuildApiUsage, GuildNotification
from integrations.apify.client import ApifyClient
from integrations.models import ApifyRunRegistry, WebhookDelivery
from metrics.collection import start_metrics_run
from metrics.models import VideoMetrics
from metrics.runs import process_due_deliveries, reconcile_runs
from tests.helpers.apify import make_posts, post_webhook, process_deliveries, tiktok_item, webhook_body, webhook_headers
from tracking.models import Post

pytestmark = pytest.mark.django_db
URL = "/api/webhooks/apify"
ACTOR = "clockworks~tiktok-scraper"


def later(**kw):
    return timezone.now() + timedelta(**kw)


def runs(bypass):
    with bypass():
        return list(ApifyRunRegistry.objects.order_by("pk"))


def spent(guild, bypass) -> int:
    with bypass():
        row = GuildApiUsage.objects.filter(guild=guild).first()
    return row.apify_run_count if row else 0


def snapshots(bypass) -> int:
    with bypass():
        return VideoMetrics.objects.count()


def finish(apify, run_id, posts, status="SUCCEEDED"):
    apify.add_items(f"ds-{run_id}", [tiktok_item(p, views=500 + i) for i, p in enumerate(posts)])
    apify.set_run_status(run_id, status)


@pytest.fixture
def slow_start(apify, settings):
    """Apify starts the run but answers after the client gave up."""
    settings.APIFY_HTTP_TIMEOUT_MS = 300
    apify.delay(f"/v2/acts/{ACTOR}/runs", 1.0)
    apify.delay(f"/v2/actors/{ACTOR}/runs", 1.0)
    return apify


# --- 1. a start answered after the client's timeout --------------------------------------------------


def test_a_start_answered_too_late_is_found_at_apify_and_ingested_once(client, guild, slow_start, bypass):
    posts = make_posts(guild, 2)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    assert run.status == "starting" and "timed out" in run.status_message
    slow_start.clear_failures()
    started = slow_start.started_runs[-1]

    assert reconcile_runs().adopted == 0  # the start call may still be in flight: too early to look
    summary = reconcile_runs(now=later(minutes=5))

    assert summary.adopted == 1 and summary.refunded == 0
    with bypass():
        run.refresh_from_db()
    assert (run.status, run.apify_run_id) == ("initiated", started.run_id)
    assert spent(guild, bypass) == 1
    finish(slow_start, started.run_id, posts)
    assert post_webhook(client, URL, webhook_body(started.run_id), webhook_headers(started)).status_code == 202
    process_deliveries()
    assert snapshots(bypass) == 2


def test_a_retried_start_that_ran_twice_is_ingested_twice_and_counted_twice(client, guild, apify, bypass, settings):
    posts = make_posts(guild, 2)
    apify.start_then_fail(503)  # the first POST started a run and answered 503...
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    first = apify.started_runs[-1]
    # ...and someone's retry of the same request started a second one
    retry = ApifyClient(token="t", base_url=apify.base_url, max_retries=0)
    retry.start_run(actor_id=ACTOR, run_input=first.input, webhook_url="https://x", webhook_headers={})
    second = apify.started_runs[-1]

    assert reconcile_runs(now=later(minutes=5)).adopted == 2

    original, twin = runs(bypass)
    assert (original.pk, original.apify_run_id, original.status) == (run.pk, first.run_id, "initiated")
    assert (twin.duplicate_of_id, twin.apify_run_id, twin.status) == (run.pk, second.run_id, "initiated")
    assert twin.post_ids == original.post_ids
    assert spent(guild, bypass) == 2  # both were paid for
    # the second run's webhook carries the first's token (same request): accepted for the twin
    finish(apify, second.run_id, posts)
    response = post_webhook(client, URL, webhook_body(second.run_id), webhook_headers(first))
    assert response.status_code == 202
    process_deliveries()
    with bypass():
        twin.refresh_from_db()
    assert twin.status == "succeeded" and snapshots(bypass) == 2


def test_a_second_runs_webhook_before_reconciliation_is_checked_at_apify_and_accepted(client, guild, apify, bypass):
    posts = make_posts(guild, 1)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[0].pk])
    first = apify.started_runs[-1]
    ApifyClient(token="t", base_url=apify.base_url, max_retries=0).start_run(
        actor_id=ACTOR, run_input=first.input, webhook_url="https://x", webhook_headers={}
    )
    second = apify.started_runs[-1]
    finish(apify, second.run_id, posts)

    response = post_webhook(client, URL, webhook_body(second.run_id), webhook_headers(first))

    assert response.status_code == 202
    with bypass():
        twin = ApifyRunRegistry.objects.get(apify_run_id=second.run_id)
    assert twin.duplicate_of_id == run.pk and spent(guild, bypass) == 2


def test_a_body_naming_a_run_of_another_request_is_refused(client, guild, apify, bypass):
    posts = make_posts(guild, 2)
    start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[0].pk])
    mine = apify.started_runs[-1]
    start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[1].pk])
    other = apify.started_runs[-1]

    response = post_webhook(client, URL, webhook_body(other.run_id), webhook_headers(mine))

    assert response.status_code == 403 and response.json()["error"]["code"] == "other_run"


# --- 2. the process died during the start call ----------------------------------------------------


def test_a_reserved_start_that_never_reached_apify_is_refunded_with_the_reason(guild, apify, bypass):
    posts = make_posts(guild, 2)
    apify.fail_always(f"/v2/acts/{ACTOR}/runs", 599)  # nothing started, and no trustworthy answer either
    apify.fail_always(f"/v2/actors/{ACTOR}/runs", 599)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    apify.clear_failures()
    assert run.status == "starting" and spent(guild, bypass) == 1

    assert reconcile_runs(now=later(minutes=5)).refunded == 1

    with bypass():
        run.refresh_from_db()
        reasons = set(Post.objects.filter(pk__in=[p.pk for p in posts]).values_list("last_failure_reason", flat=True))
    assert run.status == "failed" and run.status_message.startswith("Apify started no run for this request")
    assert spent(guild, bypass) == 0
    assert reasons == {run.status_message}


def test_a_webhook_for_a_start_we_never_heard_back_from_is_accepted(client, guild, slow_start, bypass):
    posts = make_posts(guild, 1)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[0].pk])
    started = slow_start.started_runs[-1]
    finish(slow_start, started.run_id, posts)

    response = post_webhook(client, URL, webhook_body(started.run_id), webhook_headers(started))
    process_deliveries()

    assert response.status_code == 202
    with bypass():
        run.refresh_from_db()
    assert (run.status, run.apify_run_id) == ("succeeded", started.run_id) and snapshots(bypass) == 1


def test_apify_unreachable_leaves_the_start_reserved_then_fails_it_unrefunded(guild, apify, bypass, settings):
    posts = make_posts(guild, 1)
    apify.start_then_fail(503)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[0].pk])
    apify.fail_always(f"/v2/acts/{ACTOR}/runs", 503)
    apify.fail_always(f"/v2/actors/{ACTOR}/runs", 503)

    reconcile_runs(now=later(minutes=5))
    with bypass():
        run.refresh_from_db()
    assert run.status == "starting"

    reconcile_runs(now=later(days=2))
    with bypass():
        run.refresh_from_db()
    assert run.status == "failed" and "could not be followed" in run.status_message
    assert spent(guild, bypass) == 1  # it may have run: never refunded


# --- 3/5. processing: durable, retried, taken over ------------------------------------------------


@pytest.fixture
def started(guild, apify):
    posts = make_posts(guild, 3)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    fake = apify.started_runs[-1]
    finish(apify, fake.run_id, posts)
    return run, fake, posts


def test_a_transient_apify_error_while_reading_is_retried_with_backoff(client, started, apify, bypass):
    run, fake, _ = started
    apify.fail(f"/v2/datasets/ds-{fake.run_id}/items", 503)
    post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake))

    first = process_due_deliveries()
    delivery = WebhookDelivery.objects.get(run=run)
    assert (first.retrying, delivery.state, delivery.attempts) == (1, "to_process", 1)
    assert "503" in delivery.last_error and delivery.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert process_due_deliveries().done == 0  # backed off: not yet

    assert process_due_deliveries(now=later(minutes=2)).done == 1
    with bypass():
        run.refresh_from_db()
    assert run.status == "succeeded" and snapshots(bypass) == 3


def test_retries_end_with_the_run_failed_and_the_reason(client, started, apify, bypass, settings):
    settings.WEBHOOK_DELIVERY_MAX_ATTEMPTS = 2
    run, fake, posts = started
    apify.fail_always(f"/v2/actor-runs/{fake.run_id}", 503)
    post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake))

    process_due_deliveries()
    assert process_due_deliveries(now=later(hours=1)).failed == 1

    with bypass():
        run.refresh_from_db()
        note = GuildNotification.objects.get(kind="run_failed")
    assert run.status == "failed" and "after 2 attempts" in run.status_message and "503" in run.status_message
    assert "after 2 attempts" in note.body


def test_a_delivery_whose_processor_died_is_taken_over_after_its_lease(client, started, apify, bypass):
    run, fake, _ = started
    post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake))
    # a worker claimed it and was killed: the row says processing, with a lease that runs out
    WebhookDelivery.objects.filter(run=run).update(state="processing", lease_until=later(seconds=90), attempts=1)

    assert process_due_deliveries().done == 0  # the lease is still live
    assert process_due_deliveries(now=later(seconds=91)).done == 1

    assert snapshots(bypass) == 3 and WebhookDelivery.objects.get(run=run).state == "done"


def test_processing_a_delivery_twice_stores_nothing_twice(client, started, bypass):
    run, fake, _ = started
    post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake))
    process_deliveries()
    WebhookDelivery.objects.filter(run=run).update(state="to_process", next_attempt_at=timezone.now())

    process_deliveries()

    assert snapshots(bypass) == 3


def test_an_unreachable_broker_loses_nothing(settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    class Unreachable:
        name = "metrics.tasks.process_webhook_delivery"

        def delay(self, *args):
            raise ConnectionRefusedError("broker down")

    with django_capture_on_commit_callbacks(execute=True):
        wake_worker(Unreachable(), 1)  # logged, not raised: the delivery row waits for the sweeper


# --- 7. a webhook that never came ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("apify_says", "status", "message"),
    [
        ("SUCCEEDED", "succeeded", "3 new"),
        ("FAILED", "failed", "Apify run failed"),
        ("RUNNING", "initiated", ""),
    ],
)
def test_a_run_that_never_reported_back_is_asked_about(started, apify, bypass, apify_says, status, message):
    run, fake, _ = started
    apify.set_run_status(fake.run_id, apify_says)

    assert reconcile_runs().polled == 0  # not silent for long yet
    reconcile_runs(now=later(minutes=20))

    with bypass():
        run.refresh_from_db()
    assert run.status == status and message in run.status_message
    if apify_says == "RUNNING":
        assert run.checked_at is not None
    if apify_says == "SUCCEEDED":
        assert snapshots(bypass) == 3
        assert WebhookDelivery.objects.get(run=run).source == "poll"


def test_a_running_run_about_to_expire_is_given_more_time(started, apify, bypass):
    run, fake, _ = started
    apify.set_run_status(fake.run_id, "RUNNING")
    reconcile_runs(now=run.expires_at - timedelta(minutes=1))
    with bypass():
        run.refresh_from_db()
    assert run.status == "initiated" and run.expires_at > later(hours=23)


def test_a_run_apify_does_not_know_is_failed_with_the_truth(guild, apify, bypass):
    posts = make_posts(guild, 1)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[0].pk])
    with bypass():
        ApifyRunRegistry.objects.filter(pk=run.pk).update(apify_run_id="goneRun0001")

    reconcile_runs(now=later(minutes=20))

    with bypass():
        run.refresh_from_db()
    assert run.status == "failed" and "Apify has no run goneRun0001" in run.status_message


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweepers_process_a_delivery_once(client, apify):
    """Two processes sweeping at the same moment: the delivery is claimed by one (skip locked)."""
    import threading

    from tests.factories import make_guild

    guild = make_guild()
    posts = make_posts(guild, 2)
    start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    fake = apify.started_runs[-1]
    finish(apify, fake.run_id, posts)
    post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake))
    barrier, results = threading.Barrier(2), []

    def sweep():
        try:
            barrier.wait()
            results.append(process_due_deliveries().done)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1] and VideoMetrics.objects.count() == 2
