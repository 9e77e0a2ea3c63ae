"""The embedded default (SQLite, no broker): ``manage.py track`` processes accepted webhooks, so a
web worker killed right after answering loses nothing, and a ``track`` killed mid-ingest is taken
over by the next one once its lease ends (10 s here). Runs in both suites: it brings its own
SQLite database, whatever DATABASE_URL the suite uses."""

from __future__ import annotations

import os
import signal

import pytest

from tests.faults.conftest import children

pytestmark = pytest.mark.faults


def test_web_worker_killed_after_accepting_the_webhook_track_ingests_it(embedded_stack):
    stack = embedded_stack
    seeded = stack.seed(posts=3)
    master = stack.gunicorn()
    stack.apify.fault("settings", finish_after=1.0)
    stack.start_runs()
    accepted = stack.wait_for(
        lambda: [a for a in stack.apify.state()["webhook_answers"] if a["status"] == 202], 30, "the webhook's 202"
    )
    for pid in children(master.pid):  # right after the answer: whatever the worker does next dies with it
        os.kill(pid, signal.SIGKILL)
    assert stack.probe()["deliveries"][0]["state"] in ("to_process", "processing", "done")

    stack.start("track", [stack.python, "manage.py", "track"])
    # The run is marked succeeded in the ingest's transaction and the delivery done just after it:
    # wait for both, or a probe between the two commits reads "processing" on a busy machine.
    state = stack.wait_state(
        lambda s: (
            [r["status"] for r in s["runs"]] == ["succeeded"] and [d["state"] for d in s["deliveries"]] == ["done"]
        ),
        30,
        "track's sweeper to ingest the run and close its delivery",
    )

    assert len(stack.apify.state()["started_runs"]) == 1 and len(accepted) == 1
    assert state["snapshots_per_post"] == {str(pk): 1 for pk in seeded["post_ids"]}
    assert state["budget_runs"] == 1
    assert [d["state"] for d in state["deliveries"]] == ["done"]


def test_track_killed_mid_ingest_the_next_track_finishes_it(embedded_stack):
    stack = embedded_stack
    seeded = stack.seed(posts=2)
    stack.gunicorn()
    stack.apify.fault("slow_once", path="/v2/datasets/", seconds=60)
    first = stack.start("track1", [stack.python, "manage.py", "track"])  # it plans at once: starts the run
    stack.wait_for(lambda: stack.apify.state()["slow_hits"], 40, "track to fetch the dataset")

    first.kill()  # kill -9 while it reads the dataset: the delivery stays leased to a dead process
    stack.start("track2", [stack.python, "manage.py", "track"])
    state = stack.wait_state(
        lambda s: (
            [r["status"] for r in s["runs"]] == ["succeeded"] and [d["state"] for d in s["deliveries"]] == ["done"]
        ),
        45,
        "the next track to take the delivery over and close it",
    )

    assert len(stack.apify.state()["started_runs"]) == 1
    assert state["snapshots_per_post"] == {str(pk): 1 for pk in seeded["post_ids"]}
    assert state["budget_runs"] == 1
    assert [(d["state"], d["attempts"]) for d in state["deliveries"]] == [("done", 2)]
