"""run_refresh_cycle on the database: budgets, idempotency after a crash, runs in flight, dry runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.tenancy import guild_scope
from guilds.budgets import debit_budget
from guilds.models import GuildApiUsage, GuildBudgetConfig
from integrations.models import ApifyRunRegistry
from metrics.collection import run_refresh_cycle
from tests.factories import make_guild, make_post, make_profile
from tracking.models import Post

pytestmark = pytest.mark.django_db


class FakeStart:
    """start_metrics_run's contract: debit one run (None when there is none), register the run."""

    def __init__(self, crash_on_guild: int | None = None):
        self.calls: list[tuple[int, str, list[int]]] = []
        self.crash_on_guild = crash_on_guild

    def __call__(self, *, guild_id, platform, post_ids, now):
        if guild_id == self.crash_on_guild:
            raise RuntimeError("worker died")
        if not debit_budget(guild=guild_id, kind="apify_runs", now=now):
            return None
        self.calls.append((guild_id, platform, list(post_ids)))
        return ApifyRunRegistry.objects.create(
            guild_id=guild_id,
            purpose="metrics",
            platform=platform,
            actor_id="fake/actor",
            post_ids=list(post_ids),
            expires_at=now + timedelta(days=1),
        )


def due_posts(guild, n, **kw):
    now = timezone.now()
    profile = make_profile(guild)
    defaults = {
        "next_refresh_at": now - timedelta(hours=2),
        "metrics_updated_at": now - timedelta(hours=3),
        "views": 10_000,
        "growth_per_hour": 50,
    }
    return [make_post(guild, profile=profile, **{**defaults, **kw}) for _ in range(n)]


def set_budget(guild, **fields):
    with guild_scope(guild.id):
        GuildBudgetConfig.objects.for_guild(guild).update(**fields)


@pytest.fixture(autouse=True)
def _no_pacing(settings):
    settings.SCHEDULER_BUDGET_RESERVE_SHARE = 0


def test_a_backlog_larger_than_the_budget_spends_exactly_the_budget(guild, bypass):
    set_budget(guild, daily_apify_run_limit=3, apify_max_items_per_run=10)
    due_posts(guild, 60)
    start = FakeStart()
    report = run_refresh_cycle(start_metrics_run=start)
    again = run_refresh_cycle(start_metrics_run=start)
    assert (report.runs_started, again.runs_started) == (3, 0)
    with bypass():
        assert GuildApiUsage.objects.get(guild=guild).apify_run_count == 3
        assert ApifyRunRegistry.objects.filter(guild=guild).count() == 3
        assert Post.objects.filter(guild=guild, next_refresh_at__lte=timezone.now()).count() == 30


def test_a_cycle_that_dies_half_way_and_runs_again_starts_nothing_twice(settings, bypass):
    first, second = make_guild(), make_guild()
    due_posts(first, 5)
    due_posts(second, 5)
    with pytest.raises(RuntimeError):
        run_refresh_cycle(start_metrics_run=FakeStart(crash_on_guild=second.id))
    start = FakeStart()
    # The crash came after the claim was committed: whether a run started is unknown, so the claimed
    # posts wait out the in-flight grace instead of being started a second time at once.
    run_refresh_cycle(start_metrics_run=start)
    assert start.calls == []
    # Once the grace is over the posts are due again (and, hours overdue, worth a run of their own).
    later = timezone.now() + timedelta(minutes=settings.SCHEDULER_INFLIGHT_GRACE_MINUTES) + timedelta(hours=3)
    run_refresh_cycle(start_metrics_run=start, now=later)
    run_refresh_cycle(start_metrics_run=start, now=later)
    assert [call[0] for call in start.calls] == [second.id]
    with bypass():
        covered = [pid for run in ApifyRunRegistry.objects.all() for pid in run.post_ids]
    assert len(covered) == len(set(covered)) == 10


def test_posts_of_a_run_in_flight_are_not_put_in_another(guild, bypass):
    posts = due_posts(guild, 4)
    with bypass():
        ApifyRunRegistry.objects.create(
            guild=guild,
            purpose="metrics",
            platform="tiktok",
            actor_id="a",
            post_ids=[posts[0].id, posts[1].id],
            expires_at=timezone.now() + timedelta(hours=1),
        )
    start = FakeStart()
    run_refresh_cycle(start_metrics_run=start)
    assert sorted(start.calls[0][2]) == sorted([posts[2].id, posts[3].id])


def test_a_started_run_pushes_its_posts_past_the_in_flight_grace(guild, bypass, settings):
    settings.SCHEDULER_INFLIGHT_GRACE_MINUTES = 30
    posts = due_posts(guild, 2)
    report = run_refresh_cycle(start_metrics_run=FakeStart())
    with bypass():
        moved = set(Post.objects.filter(id__in=[p.id for p in posts]).values_list("next_refresh_at", flat=True))
    assert moved == {report.now + timedelta(minutes=30)}


def test_a_refused_start_leaves_the_posts_due(guild, bypass):
    set_budget(guild, daily_apify_run_limit=1)
    due_posts(guild, 2)
    with bypass():
        GuildApiUsage.objects.create(guild=guild, day=timezone.now().date(), apify_run_count=0)
    calls = []

    def no_budget(**kwargs):
        calls.append(kwargs)
        return None

    report = run_refresh_cycle(start_metrics_run=no_budget)
    assert report.not_started == {"budget exhausted": 1}
    with bypass():
        assert Post.objects.filter(guild=guild, next_refresh_at__lte=timezone.now()).count() == 2


def test_dry_run_prints_the_plan_and_changes_nothing(guild, bypass, capsys):
    set_budget(guild, apify_max_items_per_run=2)
    due_posts(guild, 3)
    with bypass():
        before = list(Post.objects.order_by("id").values_list("id", "next_refresh_at"))
    call_command("refresh_metrics", "--dry-run", "--guild", str(guild.id))
    out = capsys.readouterr().out
    assert f"{guild.id}" in out and "tiktok" in out and "3 posts would be fetched" in out
    with bypass():
        assert list(Post.objects.order_by("id").values_list("id", "next_refresh_at")) == before
        assert not ApifyRunRegistry.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--guild", "12345"], "No active guild with id 12345."), (["--platform", "myspace"], "Unknown platform")],
)
def test_refresh_metrics_refuses_unknown_guild_and_platform(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("refresh_metrics", *args)
