"""PostgreSQL + Redis with real Celery processes: gunicorn answers Apify's webhooks, a worker
processes them, beat runs the sweeper and the reconciler (every 2 s here). Each case ends with every
run Apify started ingested exactly once (one snapshot per post) and counted once in the budget.
Skipped on SQLite-only runs (see conftest.py)."""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import free_port

pytestmark = pytest.mark.faults
DATASETS = "/v2/datasets/"


def ingested_once(state: dict, seeded: dict) -> bool:
    return [r["status"] for r in state["runs"]] == ["succeeded"] and state["snapshots_per_post"] == {
        str(pk): 1 for pk in seeded["post_ids"]
    }


def assert_paid_once(stack, state: dict, seeded: dict) -> None:
    """One run started at Apify, ingested once, counted once."""
    apify = stack.apify.state()
    assert len(apify["started_runs"]) == 1, apify["started_runs"]
    assert ingested_once(state, seeded), state
    assert state["snapshots"] == len(seeded["post_ids"])
    assert state["budget_runs"] == 1
    assert state["runs"][0]["apify_run_id"] == apify["started_runs"][0]


def test_worker_killed_mid_ingest_another_worker_finishes_it(celery_stack):
    stack = celery_stack
    seeded = stack.seed(posts=3)
    stack.gunicorn()
    first = stack.worker("worker1")
    stack.beat()
    stack.apify.fault("slow_once", path=DATASETS, seconds=60)
    stack.start_runs()
    stack.wait_for(lambda: stack.apify.state()["slow_hits"], 30, "the worker to fetch the dataset")

    first.kill()  # kill -9, the whole worker, while it reads the dataset
    killed_at = time.monotonic()
    stack.worker("worker2")
    state = stack.wait_state(lambda s: ingested_once(s, seeded), 45, "another worker to ingest the run")

    assert time.monotonic() - killed_at < 45  # lease (10 s here) + a sweep (2 s here) + the work
    assert_paid_once(stack, state, seeded)
    assert [(d["state"], d["attempts"]) for d in state["deliveries"]] == [("done", 2)]


def test_broker_unreachable_at_webhook_time_the_sweeper_processes_it_later(celery_stack):
    stack = celery_stack
    seeded = stack.seed(posts=2)
    stack.gunicorn(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    stack.start_runs()
    stack.wait_for(
        lambda: [a for a in stack.apify.state()["webhook_answers"] if a["status"] == 202], 40, "the webhook's 202"
    )
    assert [d["state"] for d in stack.probe()["deliveries"]] == ["to_process"]
    assert "broker_unreachable" in stack.procs["gunicorn"].tail(400)

    stack.worker()  # the broker and a worker are back
    stack.beat()
    state = stack.wait_state(lambda s: ingested_once(s, seeded), 30, "the sweeper to process the delivery")

    assert_paid_once(stack, state, seeded)
    assert [a["status"] for a in stack.apify.state()["webhook_answers"]] == [202]


def test_start_answered_after_the_client_timeout_is_adopted_not_started_twice(celery_stack):
    stack = celery_stack
    seeded = stack.seed(posts=2)
    stack.gunicorn()
    stack.worker()
    stack.beat()
    stack.apify.fault("settings", webhooks=False)  # the reconciler must find the run by itself
    stack.apify.fault("late_once", path="/v2/act", seconds=6)  # APIFY_HTTP_TIMEOUT_MS is 3000 here
    stack.manage("refresh_metrics")  # its start call times out: the run stays "starting", unknown

    state = stack.wait_state(lambda s: ingested_once(s, seeded), 40, "reconcile to adopt and ingest the run")

    assert_paid_once(stack, state, seeded)
    assert "apify_start_reconciled" in stack.procs["worker"].tail(1000)
    starts = [r for r in stack.apify.state()["requests"] if r.startswith("POST /v2/act")]
    assert len(starts) == 1  # no second paid run


def test_dataset_503_then_200_is_retried_and_ingested(celery_stack):
    stack = celery_stack
    seeded = stack.seed(posts=2)
    stack.gunicorn()
    stack.worker()
    stack.beat()
    # The client retries a 5xx (APIFY_MAX_RETRIES, 1 here) with backoff; past that the delivery itself backs
    # off 30 s and the sweeper retries (tests/metrics/test_paid_runs_are_never_lost.py covers that part).
    stack.apify.fault("fail", path="/v2/datasets/ds-run0001/items", statuses=[503])

    stack.start_runs()
    state = stack.wait_state(lambda s: ingested_once(s, seeded), 40, "the retried fetch to ingest the run")

    assert_paid_once(stack, state, seeded)
    fetches = [r for r in stack.apify.state()["requests"] if r == "GET /v2/datasets/ds-run0001/items"]
    assert len(fetches) >= 2  # the 503, then the 200 that was ingested
    assert [d["state"] for d in state["deliveries"]] == ["done"]


def test_webhook_never_delivered_polling_ingests_the_run(celery_stack):
    stack = celery_stack
    seeded = stack.seed(posts=2)
    stack.gunicorn()
    stack.worker()
    stack.beat()
    stack.apify.fault("settings", webhooks=False)
    stack.start_runs()

    state = stack.wait_state(lambda s: ingested_once(s, seeded), 40, "the reconciler to poll and ingest the run")

    assert_paid_once(stack, state, seeded)
    assert [(d["source"], d["state"]) for d in state["deliveries"]] == [("poll", "done")]
    assert stack.apify.state()["webhook_answers"] == []
