"""start_metrics_run: one run per batch, the registry first, the budget debited atomically; expiry."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from guilds.models import GuildApiUsage, GuildNotification
from integrations.models import ApifyRunRegistry
from metrics.collection import start_metrics_run
from tests.factories import make_guild
from tests.helpers.apify import make_posts, set_budget
from tracking.models import Post

pytestmark = pytest.mark.django_db


def usage(guild, bypass):
    with bypass():
        return GuildApiUsage.objects.get(guild=guild)


def test_one_run_covers_the_batch_up_to_the_items_per_run_limit(guild, apify, bypass):
    set_budget(guild, apify_max_items_per_run=2)
    posts = make_posts(guild, 3)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    assert len(apify.started_runs) == 1
    assert run.post_ids == [posts[0].pk, posts[1].pk] and len(apify.started_runs[0].input["postURLs"]) == 2
    assert run.expires_at == pytest.approx(timezone.now() + timedelta(days=1), abs=timedelta(seconds=30))
    assert usage(guild, bypass).apify_run_count == 1


def test_an_exhausted_budget_skips_the_guild_and_says_so_once(guild, apify, bypass):
    set_budget(guild, daily_apify_run_limit=1)
    posts = make_posts(guild, 1)
    assert start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[0].pk]) is not None
    assert start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[0].pk]) is None
    assert start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[0].pk]) is None
    assert len(apify.started_runs) == 1
    row = usage(guild, bypass)
    assert (row.apify_run_count, row.apify_runs_skipped) == (1, 2)
    with bypass():
        assert GuildNotification.objects.filter(guild=guild, kind="budget").count() == 1
        assert ApifyRunRegistry.objects.count() == 1


def test_a_refused_start_fails_the_run_refunds_it_and_counts_on_the_posts(guild, apify, bypass):
    posts = make_posts(guild, 2)
    apify.fail_always("/v2/acts/clockworks~tiktok-scraper/runs", 400)
    apify.fail_always("/v2/actors/clockworks~tiktok-scraper/runs", 400)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    assert run.status == "failed" and "Apify refused to start the run" in run.status_message
    assert usage(guild, bypass).apify_run_count == 0
    with bypass():
        failed = Post.objects.filter(pk__in=[p.pk for p in posts])
        assert [(p.failure_count, p.last_failure_reason[:30]) for p in failed] == [
            (1, "Apify refused to start the run")
        ] * 2


def test_a_rate_limited_start_started_nothing_and_is_refunded(guild, apify, bypass):
    posts = make_posts(guild, 1)
    apify.fail_always("/v2/acts/clockworks~tiktok-scraper/runs", 429, retry_after=30)
    apify.fail_always("/v2/actors/clockworks~tiktok-scraper/runs", 429, retry_after=30)
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[posts[0].pk])
    assert run.status == "failed" and usage(guild, bypass).apify_run_count == 0


def test_a_start_without_a_trustworthy_answer_stays_reserved_and_is_never_refunded(guild, apify, bypass):
    posts = make_posts(guild, 2)
    apify.start_then_fail(503)  # Apify started the run and then answered 503
    run = start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[p.pk for p in posts])
    assert run.status == "starting" and run.apify_run_id is None
    assert "Start not confirmed" in run.status_message and "503" in run.status_message
    assert usage(guild, bypass).apify_run_count == 1  # it may have run: still counted
    assert len(apify.started_runs) == 1  # no client retry started a second run
    with bypass():
        assert set(Post.objects.filter(pk__in=[p.pk for p in posts]).values_list("failure_count", flat=True)) == {0}


def test_posts_of_another_guild_or_platform_are_not_started(guild, other_guild, apify):
    theirs = make_posts(other_guild, 1)
    with pytest.raises(ValueError, match="refreshable tiktok post"):
        start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[theirs[0].pk])
    assert apify.started_runs == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_can_never_overspend_the_last_run(apify):
    guild = make_guild()
    set_budget(guild, daily_apify_run_limit=1)
    posts = make_posts(guild, 2)
    barrier = threading.Barrier(2)
    results = []

    def worker(post):
        try:
            barrier.wait()
            results.append(start_metrics_run(guild_id=guild.id, platform="tiktok", post_ids=[post.pk]))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(p,)) for p in posts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r is None for r in results) == [False, True]
    assert len(apify.started_runs) == 1
    row = GuildApiUsage.objects.get(guild=guild)
    assert (row.apify_run_count, row.apify_runs_skipped) == (1, 1)
