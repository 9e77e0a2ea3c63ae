"""The beat schedules the migration created, and the simulator's goals on a small case."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from tracking.jobs import PERIODIC_JOBS


@pytest.mark.django_db
def test_the_migration_created_one_enabled_periodic_task_per_job():
    rows = {t.name: t for t in PeriodicTask.objects.select_related("interval", "crontab")}
    for job in PERIODIC_JOBS:
        row = rows[job.name]
        assert row.task == job.task and row.enabled
        if job.at_minute is None:
            assert row.interval.every == job.seconds and row.interval.period == "seconds"
        else:
            assert (row.crontab.minute, row.crontab.hour) == (str(job.at_minute), "*")


def simulate(capsys, *args):
    call_command("simulate_refresh", "--json", *args)
    return json.loads(capsys.readouterr().out)


def test_simulate_refresh_small_case_meets_the_goals(capsys):
    result = simulate(capsys, "--posts", "200", "--days", "7", "--seed", "3")
    ours, base = result["scheduler"], result["fixed_hourly"]
    for key in (
        "apify_runs",
        "items_scraped",
        "youtube_units",
        "unseen_views_share",
        "median_staleness_s",
        "p95_staleness_s",
    ):
        assert key in ours and key in base
    assert ours["apify_runs"] * 20 <= base["apify_runs"]
    assert ours["items_scraped"] * 2 <= base["items_scraped"]
    assert ours["unseen_views_share"] <= 2 * base["unseen_views_share"]


@pytest.mark.slow
def test_simulate_refresh_meets_the_goals_when_the_run_budget_binds(capsys):
    """2,000 posts in 3 days on 100 runs a day: runs are filled rather than spent near-empty."""
    result = simulate(capsys, "--posts", "2000", "--days", "3")
    ours, base = result["scheduler"], result["fixed_hourly"]
    assert ours["apify_runs"] <= 300  # the budget: 100 a day
    assert ours["apify_runs"] * 20 <= base["apify_runs"]
    assert ours["items_scraped"] * 2 <= base["items_scraped"]
    assert ours["items_scraped"] >= 0.8 * 100 * ours["apify_runs"]  # runs carry 80+ of 100 items on average
    assert ours["unseen_views_share"] <= 2 * base["unseen_views_share"]


def test_simulate_refresh_is_deterministic_with_a_seed(capsys):
    args = ("--posts", "40", "--days", "2", "--seed", "9")
    assert simulate(capsys, *args) == simulate(capsys, *args)


def test_simulate_refresh_refuses_nonsense():
    with pytest.raises(CommandError, match="--posts must be between"):
        call_command("simulate_refresh", "--posts", "0")
