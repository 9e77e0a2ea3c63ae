"""plan_cycle, pure: budgets, priority when the budget is short, fairness between guilds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tracking.cadence import Allowance, Limits, plan_cycle, run_budget_binds

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LIMITS = Limits(max_posts_per_cycle=5000, max_batches_per_guild=50)


@dataclass
class P:
    id: int
    guild_id: int = 1
    platform: str = "tiktok"
    growth_per_hour: float = 50.0  # 0.5 %/h of 10k views: "growing", a 3-hour cadence
    overdue_min: float = 60
    status: str = "tracking"
    views: int = 10_000
    failure_count: int = 0
    counting_ends_at: datetime | None = None

    def __post_init__(self):
        self.posted_at = self.submitted_at = NOW - timedelta(days=5)
        self.metrics_updated_at = NOW - timedelta(days=1)
        self.next_refresh_at = NOW - timedelta(minutes=self.overdue_min)


def posts(n, start=1, **kw):
    return [P(id=i, **kw) for i in range(start, start + n)]


def test_backlog_larger_than_the_budget_spends_exactly_the_budget():
    plan = plan_cycle(posts=posts(1000), allowances={1: Allowance(1, 7, 0, 10)}, now=NOW, limits=LIMITS)
    assert len(plan.batches) == 7
    assert sum(len(b.post_ids) for b in plan.batches) == 70
    assert plan.waiting == {(1, "tiktok"): 930}


def test_youtube_uses_one_unit_per_50_ids_within_its_units():
    plan = plan_cycle(
        posts=posts(260, platform="youtube"), allowances={1: Allowance(1, 0, 3, 100)}, now=NOW, limits=LIMITS
    )
    assert [len(b.post_ids) for b in plan.batches] == [50, 50, 50]
    assert sum(b.cost for b in plan.batches) == 3


def test_cold_posts_wait_before_hot_ones():
    cold = posts(5, start=1, growth_per_hour=0, overdue_min=600)
    hot = posts(5, start=100, growth_per_hour=2000, overdue_min=30)
    plan = plan_cycle(posts=cold + hot, allowances={1: Allowance(1, 1, 0, 5)}, now=NOW, limits=LIMITS)
    assert [set(b.post_ids) for b in plan.batches] == [{100, 101, 102, 103, 104}]


def test_a_small_guild_is_served_in_the_first_cycle_beside_a_big_backlog():
    big = posts(1000, start=1, guild_id=1)
    small = posts(10, start=5000, guild_id=2)
    allowances = {1: Allowance(1, 100, 0, 100), 2: Allowance(2, 100, 0, 100)}
    limits = Limits(max_posts_per_cycle=300, max_batches_per_guild=10)
    plan = plan_cycle(posts=big + small, allowances=allowances, now=NOW, limits=limits)
    assert sum(len(b.post_ids) for b in plan.batches if b.guild_id == 2) == 10
    assert sum(len(b.post_ids) for b in plan.batches) <= 300


def test_each_guild_spends_its_own_budget_only():
    allowances = {1: Allowance(1, 0, 0, 10), 2: Allowance(2, 2, 0, 10)}
    plan = plan_cycle(
        posts=posts(50, guild_id=1) + posts(50, start=100, guild_id=2), allowances=allowances, now=NOW, limits=LIMITS
    )
    assert {b.guild_id for b in plan.batches} == {2}
    assert len(plan.batches) == 2


def test_a_post_barely_due_waits_to_share_a_run_and_early_ones_fill_it():
    just_due = [P(id=1, overdue_min=1)]  # 3-hour cadence: may wait 45 min for company
    assert plan_cycle(posts=just_due, allowances={1: Allowance(1, 5, 0, 10)}, now=NOW, limits=LIMITS).batches == []
    late = P(id=2, overdue_min=50)
    early = P(id=3, overdue_min=-10)
    plan = plan_cycle(posts=[late, early, *just_due], allowances={1: Allowance(1, 5, 0, 10)}, now=NOW, limits=LIMITS)
    assert [set(b.post_ids) for b in plan.batches] == [{1, 2, 3}]


def test_platforms_never_share_a_run():
    plan = plan_cycle(
        posts=posts(3) + posts(3, start=10, platform="instagram"),
        allowances={1: Allowance(1, 5, 0, 100)},
        now=NOW,
        limits=LIMITS,
    )
    assert sorted((b.platform, len(b.post_ids)) for b in plan.batches) == [("instagram", 3), ("tiktok", 3)]


# When the run budget binds (the guild spent more than an even pace of its day), runs are filled.
def binding(runs, size=100):
    return {1: Allowance(1, runs, 0, size, runs_bind=True)}


def test_run_budget_binds_when_spending_is_ahead_of_an_even_pace():
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert run_budget_binds(limit=100, remaining=49, now=noon)
    assert not run_budget_binds(limit=100, remaining=50, now=noon)
    assert not run_budget_binds(limit=100, remaining=100, now=noon.replace(hour=0))


def test_binding_budget_fills_the_run_with_due_soon_posts_before_starting_it():
    due = posts(30, overdue_min=60)  # 3-hour cadence: waited past max_delay, 30 < half a run
    soon = posts(80, start=100, overdue_min=-60)  # due within half their interval (90 min)
    later = posts(10, start=500, overdue_min=-120)  # beyond it
    plan = plan_cycle(posts=due + soon + later, allowances=binding(5), now=NOW, limits=LIMITS)
    assert [len(b.post_ids) for b in plan.batches] == [100]
    assert set(range(1, 31)) <= set(plan.batches[0].post_ids)
    assert not set(plan.batches[0].post_ids) & set(range(500, 510))


def test_binding_budget_holds_a_near_empty_run_until_its_posts_waited_their_interval():
    few = posts(10, overdue_min=60)
    assert plan_cycle(posts=few, allowances=binding(5), now=NOW, limits=LIMITS).batches == []
    # the same posts without a binding budget go at once, as before
    assert len(plan_cycle(posts=few, allowances={1: Allowance(1, 5, 0, 100)}, now=NOW, limits=LIMITS).batches) == 1
    waited = posts(10, overdue_min=180)  # a whole 3-hour interval: the bounded delay is over
    plan = plan_cycle(posts=waited, allowances=binding(5), now=NOW, limits=LIMITS)
    assert [len(b.post_ids) for b in plan.batches] == [10]


def new_post(i, waited_min, platform="facebook"):
    p = P(id=i, platform=platform, overdue_min=waited_min)
    p.metrics_updated_at = None
    return p


def test_a_never_measured_post_waits_for_company_at_most_new_post_max_wait():
    assert plan_cycle(posts=[new_post(1, 59)], allowances=binding(5), now=NOW, limits=LIMITS).batches == []
    plan = plan_cycle(posts=[new_post(1, 60)], allowances=binding(5), now=NOW, limits=LIMITS)
    assert [b.post_ids for b in plan.batches] == [(1,)]
    assert LIMITS.new_post_max_wait == timedelta(minutes=60)


def test_a_tiny_batch_of_new_posts_does_not_win_the_last_run_over_a_full_one():
    hot = posts(100, start=100, growth_per_hour=5000, overdue_min=120)
    plan = plan_cycle(posts=[new_post(1, 61), *hot], allowances=binding(1), now=NOW, limits=LIMITS)
    assert [(b.platform, len(b.post_ids)) for b in plan.batches] == [("tiktok", 100)]
    assert plan.waiting == {(1, "facebook"): 1}
