"""The scheduler's benchmark: the real cadence and planner against synthetic posts on a simulated clock.

No network, no database. Posts arrive over the period and follow one of four growth shapes — take
off late (logistic, 20× bigger), plateau, die early, or get deleted — on a platform mix that includes
YouTube. Two strategies see the same posts:

- ``scheduler``: ``tracking.cadence.plan_cycle`` every cycle with the guild's daily run budget and
  pacing, ``next_refresh_at`` after each measurement (growth computed like metrics.ingestion does);
- ``fixed_hourly``: what simple trackers do — every post every hour, one Apify run per post (one
  YouTube unit per YouTube post), no budget.

Measured for each: Apify runs, items scraped, YouTube units, the time-averaged share of views that had
happened but were not in our numbers yet (``unseen_views_share``), and the median / p95 staleness
(seconds since each live post's last measurement, sampled every cycle).
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tracking.cadence import (
    YOUTUBE,
    Allowance,
    Cadence,
    Limits,
    next_refresh_at,
    plan_cycle,
    run_budget_binds,
    spendable,
)
from tracking.platforms import registry

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight UTC
SHAPES = (("take_off", 0.15), ("plateau", 0.50), ("die", 0.25), ("deleted", 0.10))
APIFY_LATENCY = timedelta(minutes=5)  # from run start to the webhook's numbers


@dataclass
class SimPost:
    """A post as the scheduler sees it (the Post fields it reads) plus its hidden true curve."""

    id: int
    guild_id: int
    platform: str
    submitted_at: datetime
    posted_at: datetime
    shape: str
    final_views: float
    tau_h: float
    take_off_h: float = 0.0
    width_h: float = 1.0
    deleted_at: datetime | None = None
    status: str = "submitted"
    views: int | None = None
    growth_per_hour: float = 0.0
    failure_count: int = 0
    counting_ends_at: datetime | None = None
    next_refresh_at: datetime | None = None
    metrics_updated_at: datetime | None = None
    in_flight: bool = False

    def true_views(self, at: datetime) -> int:
        """Views the platform shows at ``at`` (frozen once deleted)."""
        if self.deleted_at is not None:
            at = min(at, self.deleted_at)
        t = max(0.0, (at - self.posted_at).total_seconds() / 3600)
        if self.shape == "take_off":
            base = 0.05 * self.final_views * (1 - math.exp(-t / self.tau_h))
            return int(base + self.final_views / (1 + math.exp(-(t - self.take_off_h) / self.width_h)))
        return int(self.final_views * (1 - math.exp(-t / self.tau_h)))


def platform_mix() -> tuple[tuple[str, float], ...]:
    """(platform, weight) for every registered platform: its ``simulated_share`` of the posts."""
    return tuple((spec.key, spec.simulated_share) for spec in registry.all_specs())


def _pick(rng: random.Random, weighted) -> str:
    return rng.choices([name for name, _ in weighted], weights=[w for _, w in weighted])[0]


def make_posts(*, n: int, days: float, seed: int, guilds: int = 1) -> list[SimPost]:
    """``n`` synthetic posts submitted uniformly over the first 80% of the period."""
    rng = random.Random(seed)
    platforms = platform_mix()
    posts = []
    for i in range(n):
        submitted = START + timedelta(hours=rng.uniform(0, days * 24 * 0.8))
        shape = _pick(rng, SHAPES)
        final = rng.lognormvariate(math.log(5000), 1.5) * (20 if shape == "take_off" else 1)
        post = SimPost(
            id=i + 1,
            guild_id=1 + i % guilds,
            platform=_pick(rng, platforms),
            submitted_at=submitted,
            posted_at=submitted - timedelta(hours=rng.uniform(0, 6)),
            shape=shape,
            final_views=final / 5 if shape == "die" else final,
            tau_h=rng.uniform(1, 6) if shape == "die" else rng.uniform(6, 48),
            take_off_h=rng.uniform(24, 120),
            width_h=rng.uniform(3, 12),
            counting_ends_at=submitted + timedelta(days=30),
            next_refresh_at=submitted,  # a new submission is due at once
        )
        if shape == "deleted":
            post.deleted_at = post.posted_at + timedelta(hours=rng.uniform(6, 96))
        posts.append(post)
    return posts


@dataclass
class Tally:
    """What one strategy spent and how fresh its numbers were."""

    apify_runs: int = 0
    items_scraped: int = 0
    youtube_units: int = 0
    unseen: list[float] = field(default_factory=list)
    staleness: list[float] = field(default_factory=list)

    def sample(self, posts: list[SimPost], now: datetime, last_seen: dict[int, datetime]) -> None:
        live = [p for p in posts if p.submitted_at <= now]
        truth = sum(p.true_views(now) for p in live)
        if truth:
            self.unseen.append(max(0, truth - sum(p.views or 0 for p in live)) / truth)
        for p in live:
            if p.deleted_at is None or p.deleted_at > now:
                self.staleness.append((now - last_seen.get(p.id, p.submitted_at)).total_seconds())

    def result(self) -> dict:
        ordered = sorted(self.staleness) or [0.0]
        return {
            "apify_runs": self.apify_runs,
            "items_scraped": self.items_scraped,
            "youtube_units": self.youtube_units,
            "unseen_views_share": round(statistics.fmean(self.unseen), 5) if self.unseen else 0.0,
            "median_staleness_s": int(statistics.median(ordered)),
            "p95_staleness_s": int(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]),
        }


def _measure(post: SimPost, now: datetime, cadence: Cadence, last_seen: dict[int, datetime]) -> None:
    """What ingestion does with one result: numbers (or a failure), growth, next_refresh_at."""
    post.in_flight = False
    if post.deleted_at is not None and post.deleted_at <= now:
        post.failure_count += 1
        post.status = "unavailable"
    else:
        views = post.true_views(now)
        if post.metrics_updated_at is not None and post.views is not None:
            hours = (now - post.metrics_updated_at).total_seconds() / 3600
            post.growth_per_hour = max(0.0, (views - post.views) / hours) if hours > 0 else post.growth_per_hour
        else:
            post.growth_per_hour = views / max(1.0, (now - post.posted_at).total_seconds() / 3600)
        post.views, post.metrics_updated_at, post.failure_count, post.status = views, now, 0, "tracking"
        last_seen[post.id] = now
    post.next_refresh_at = next_refresh_at(post=post, now=now, budget=cadence)


def simulate_scheduler(
    posts: list[SimPost],
    *,
    days: float,
    runs_per_day: int,
    cycle: timedelta,
    limits: Limits,
    cadence: Cadence,
    youtube_units_per_day: int = 1000,
    max_items_per_run: int = 100,
    reserve_share: float = 0.5,
) -> dict:
    """Run the real planner every ``cycle`` over ``days``; returns the Tally's numbers."""
    tally, last_seen = Tally(), {}
    finishing: list[tuple[datetime, list[SimPost]]] = []
    used: dict[tuple[int, object], list[int]] = {}
    by_id = {p.id: p for p in posts}
    now, end = START, START + timedelta(days=days)
    while now < end:
        for at, batch in [f for f in finishing if f[0] <= now]:
            for post in batch:
                _measure(post, at, cadence, last_seen)
        finishing = [f for f in finishing if f[0] > now]
        allowances = {}
        for gid in {p.guild_id for p in posts}:
            runs, units = used.setdefault((gid, now.date()), [0, 0])
            allowances[gid] = Allowance(
                gid,
                spendable(limit=runs_per_day, remaining=runs_per_day - runs, now=now, reserve_share=reserve_share),
                spendable(
                    limit=youtube_units_per_day,
                    remaining=youtube_units_per_day - units,
                    now=now,
                    reserve_share=reserve_share,
                ),
                max_items_per_run,
                cadence,
                runs_bind=run_budget_binds(limit=runs_per_day, remaining=runs_per_day - runs, now=now),
            )
        horizon = now + limits.horizon
        candidates = [
            p
            for p in posts
            if not p.in_flight
            and p.next_refresh_at is not None
            and p.next_refresh_at <= horizon
            and p.submitted_at <= now
        ]
        for batch in plan_cycle(posts=candidates, allowances=allowances, now=now, limits=limits).batches:
            counters = used[(batch.guild_id, now.date())]
            batch_posts = [by_id[i] for i in batch.post_ids]
            if batch.is_youtube:
                tally.youtube_units += batch.cost
                counters[1] += batch.cost
                for post in batch_posts:
                    _measure(post, now, cadence, last_seen)
                continue
            tally.apify_runs += 1
            tally.items_scraped += len(batch_posts)
            counters[0] += 1
            for post in batch_posts:
                post.in_flight = True
            finishing.append((now + APIFY_LATENCY, batch_posts))
        tally.sample(posts, now, last_seen)
        now += cycle
    return tally.result()


def simulate_fixed_hourly(posts: list[SimPost], *, days: float, cycle: timedelta) -> dict:
    """Every post every hour from its submission; one Apify run (or YouTube unit) per post refresh."""
    tally, last_seen = Tally(), {}
    due = {p.id: p.submitted_at for p in posts}
    finishing: list[tuple[datetime, SimPost]] = []
    now, end = START, START + timedelta(days=days)
    hourly = Cadence(young_post_hours=10**6)  # the measurement itself is the same; cadence unused here
    while now < end:
        for at, post in [f for f in finishing if f[0] <= now]:
            _measure(post, at, hourly, last_seen)
        finishing = [f for f in finishing if f[0] > now]
        for post in posts:
            if post.submitted_at <= now and due[post.id] <= now:
                due[post.id] += timedelta(hours=1)
                if post.platform == YOUTUBE:
                    tally.youtube_units += 1
                    _measure(post, now, hourly, last_seen)
                else:
                    tally.apify_runs += 1
                    tally.items_scraped += 1
                    finishing.append((now + APIFY_LATENCY, post))
        tally.sample(posts, now, last_seen)
        now += cycle
    return tally.result()


def run_simulation(
    *,
    posts: int,
    days: float,
    runs_per_day: int = 100,
    seed: int = 1,
    guilds: int = 1,
    cycle_minutes: int = 5,
    limits: Limits | None = None,
    cadence: Cadence | None = None,
    reserve_share: float = 0.5,
) -> dict:
    """Both strategies on the same synthetic posts: {"scheduler": {...}, "fixed_hourly": {...}}."""
    cycle = timedelta(minutes=cycle_minutes)
    limits = limits or Limits()
    cadence = cadence or Cadence.of(None)
    scheduled = simulate_scheduler(
        make_posts(n=posts, days=days, seed=seed, guilds=guilds),
        days=days,
        runs_per_day=runs_per_day,
        cycle=cycle,
        limits=limits,
        cadence=cadence,
        reserve_share=reserve_share,
    )
    baseline = simulate_fixed_hourly(make_posts(n=posts, days=days, seed=seed, guilds=guilds), days=days, cycle=cycle)
    return {"scheduler": scheduled, "fixed_hourly": baseline}
