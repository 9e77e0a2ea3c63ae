"""The refresh cadence: when each post is measured next, and what one planning cycle fetches.

Pure: ``Cadence``, ``next_refresh_at``, ``priority``, ``spendable`` and ``plan_cycle`` work on any
object with a Post's fields and a clock you pass in, and import no app, so the simulator
(tracking/simulation.py) runs exactly the code production runs. The database side — reading due
posts, claiming them, starting the runs — is metrics.collection.

Cadence (per-guild values from GuildBudgetConfig; growth rate = views gained per hour divided by
max(views, SCHEDULER_GROWTH_VIEWS_FLOOR)):

    never measured                      due now
    younger than young_post_hours       young_interval_minutes     (48 h → every 60 min)
    hot      (rate >= 2 %/h)            young_interval_minutes     (60 min, whatever the age)
    growing  (rate >= 0.25 %/h)         growing_interval_minutes   (180 min)
    flat     (rate >= 0.02 %/h)         flat_interval_hours        (24 h)
    dormant  (below)                    dormant_interval_hours     (168 h)

Failures back off: delay = max(interval, min(interval × 2^failure_count, max_backoff_hours)); an
unavailable post counts as at least one failure.
Never after the counting window (the last refresh is clamped to counting_ends_at), never once the
post is finalized or rejected.

Priority when the budget is short: ``(1 + hours overdue) × (1 + growth_per_hour)`` — roughly the
views we are missing, so a hot post waits less than a cold one overdue by the same time; a post
never measured comes first (its heat is unknown and the creator is waiting for a first number).

When the guild's run budget binds (it has spent more than an even pace of its daily runs), a run must
be worth a run: spare room is filled from a wider look-ahead (``fill_lookahead_fraction`` of the
interval, up to ``fill_lookahead_max``), a run starts only with ``min_fill`` × max items per run —
unless a post in it has waited ``max_wait_fraction`` of its interval (the bounded delay) — and a
never-measured post has a bounded priority (``new_post_priority`` × (1 + hours waited)) and waits at
most ``new_post_max_wait`` for the next run of its platform instead of starting a near-empty one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from django.conf import settings

log = structlog.get_logger(__name__)

YOUTUBE = "youtube"
YOUTUBE_IDS_PER_UNIT = 50  # videos.list takes up to 50 ids per call, 1 quota unit per call
FINAL_STATUSES = frozenset({"finalized", "rejected"})
REFRESHABLE_STATUSES = frozenset({"submitted", "tracking", "flagged", "unavailable"})
_MAX_BACKOFF_EXPONENT = 20  # 2**20 intervals is far past any cap; keeps the arithmetic small


# The Post fields the cadence reads (what the scheduler loads per candidate post).
POST_FIELDS = (
    "id",
    "guild_id",
    "platform",
    "status",
    "posted_at",
    "submitted_at",
    "views",
    "growth_per_hour",
    "failure_count",
    "counting_ends_at",
    "next_refresh_at",
    "metrics_updated_at",
)


class PostLike(Protocol):
    """The Post fields the scheduler reads (a model instance or the simulator's in-memory post)."""

    id: int
    guild_id: int
    platform: str
    status: str
    posted_at: datetime | None
    submitted_at: datetime
    views: int | None
    growth_per_hour: float
    failure_count: int
    counting_ends_at: datetime | None
    next_refresh_at: datetime | None
    metrics_updated_at: datetime | None


@dataclass(frozen=True)
class Cadence:
    """A guild's refresh intervals (GuildBudgetConfig) and the growth thresholds (settings)."""

    young_post_hours: int = 48
    young_interval_minutes: int = 60
    growing_interval_minutes: int = 180
    flat_interval_hours: int = 24
    dormant_interval_hours: int = 168
    max_backoff_hours: int = 24
    views_floor: int = 1000
    hot_rate: float = 0.02
    growing_rate: float = 0.0025
    flat_rate: float = 0.0002

    @classmethod
    def of(cls, budget: Any = None) -> Cadence:
        """The cadence of a GuildBudgetConfig (or defaults for None); a Cadence is returned as is."""
        if isinstance(budget, Cadence):
            return budget
        thresholds = {
            "views_floor": settings.SCHEDULER_GROWTH_VIEWS_FLOOR,
            "hot_rate": settings.SCHEDULER_HOT_GROWTH_RATE,
            "growing_rate": settings.SCHEDULER_GROWING_GROWTH_RATE,
            "flat_rate": settings.SCHEDULER_FLAT_GROWTH_RATE,
        }
        if budget is None:
            return cls(**thresholds)
        names = ("young_post_hours", "young_interval_minutes", "growing_interval_minutes")
        names += ("flat_interval_hours", "dormant_interval_hours", "max_backoff_hours")
        return cls(**{name: getattr(budget, name) for name in names}, **thresholds)


def post_age(post: PostLike, now: datetime) -> timedelta:
    """Time since the post went up (posted_at when the platform told us, else submitted_at)."""
    return now - (post.posted_at or post.submitted_at)


def growth_rate(post: PostLike, cadence: Cadence) -> float:
    """Views gained per hour as a share of the post's views (floored, so tiny posts are not 'hot')."""
    return max(0.0, post.growth_per_hour or 0.0) / max(post.views or 0, cadence.views_floor)


def classify(post: PostLike, now: datetime, cadence: Cadence) -> str:
    """The post's cadence class: new, young, hot, growing, flat or dormant (see the module table)."""
    if post.metrics_updated_at is None and not post.failure_count:
        return "new"
    if post_age(post, now) < timedelta(hours=cadence.young_post_hours):
        return "young"
    rate = growth_rate(post, cadence)
    if rate >= cadence.hot_rate:
        return "hot"
    if rate >= cadence.growing_rate:
        return "growing"
    return "flat" if rate >= cadence.flat_rate else "dormant"


def refresh_interval(post: PostLike, now: datetime, cadence: Cadence) -> timedelta:
    """The normal time between two measurements of the post, before any failure backoff."""
    kind = classify(post, now, cadence)
    if kind in ("new", "young", "hot"):
        return timedelta(minutes=cadence.young_interval_minutes)
    if kind == "growing":
        return timedelta(minutes=cadence.growing_interval_minutes)
    if kind == "flat":
        return timedelta(hours=cadence.flat_interval_hours)
    return timedelta(hours=cadence.dormant_interval_hours)


def backoff_delay(interval: timedelta, failure_count: int, max_backoff_hours: int) -> timedelta:
    """``max(interval, min(interval × 2^failures, max_backoff))``: failures never refresh sooner."""
    if failure_count <= 0:
        return interval
    grown = interval * (2 ** min(failure_count, _MAX_BACKOFF_EXPONENT))
    return max(interval, min(grown, timedelta(hours=max_backoff_hours)))


def next_refresh_at(*, post: PostLike, now: datetime, budget: Any = None) -> datetime | None:
    """When ``post`` should be measured next, or None for never again.

    Pure: reads the post's fields (status, posted_at/submitted_at, views, growth_per_hour,
    failure_count, counting_ends_at, metrics_updated_at) and ``now``; ``budget`` is the guild's
    GuildBudgetConfig (or a Cadence; None = defaults). Call it after new numbers (or a failure) are
    recorded. None when the post is finalized or rejected or its counting window has ended.
    """
    if post.status in FINAL_STATUSES:
        return None
    if post.counting_ends_at is not None and now >= post.counting_ends_at:
        return None
    cadence = Cadence.of(budget)
    if classify(post, now, cadence) == "new":
        due = now
    else:
        interval = refresh_interval(post, now, cadence)
        failures = post.failure_count or 0
        if post.status == "unavailable":
            failures = max(failures, 1)  # deleted or private: look again, but less and less often
        due = now + backoff_delay(interval, failures, cadence.max_backoff_hours)
    if post.counting_ends_at is not None:
        due = min(due, post.counting_ends_at)  # one last measurement exactly when counting stops
    return due


def is_new(post: PostLike) -> bool:
    """Never measured (and never failed): its heat is unknown."""
    return post.metrics_updated_at is None and not post.failure_count


def priority(post: PostLike, now: datetime, new_post_priority: float = math.inf) -> float:
    """``(1 + hours overdue) × (1 + growth_per_hour)``; ``new_post_priority`` × (1 + hours waited)
    for a post never measured (infinity unless the planner bounds it)."""
    if is_new(post):
        if math.isinf(new_post_priority):
            return math.inf
        waited_h = max(0.0, (now - (post.next_refresh_at or now)).total_seconds() / 3600)
        return new_post_priority * (1 + waited_h)
    overdue_h = max(0.0, (now - (post.next_refresh_at or now)).total_seconds() / 3600)
    return (1 + overdue_h) * (1 + max(0.0, post.growth_per_hour or 0.0))


def spendable(*, limit: int, remaining: int, now: datetime, reserve_share: float) -> int:
    """What may be spent now out of ``remaining``, keeping ``reserve_share`` of the daily ``limit``
    for the rest of the UTC day in proportion to the time left (so a backlog cannot burn the whole
    budget in the morning). With reserve_share 0 everything remaining is spendable."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day_left = 1 - (now - midnight).total_seconds() / 86400
    reserve = math.floor(limit * reserve_share * day_left)
    return max(0, remaining - reserve)


def run_budget_binds(*, limit: int, remaining: int, now: datetime) -> bool:
    """Whether the guild has used more than an even pace of its daily runs by ``now`` (UTC day):
    then every run has to be worth it, and the planner fills runs before starting another."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight).total_seconds() / 86400
    return limit - remaining > limit * elapsed


# ---------------------------------------------------------------------------------------------
# Planning: pure, over in-memory posts and a clock.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allowance:
    """What one guild may spend this cycle and how its runs are sized."""

    guild_id: int
    apify_runs: int
    youtube_units: int
    max_items_per_run: int
    cadence: Cadence = field(default_factory=Cadence)
    youtube_paused: bool = False
    runs_bind: bool = False


@dataclass(frozen=True)
class Limits:
    """Cycle-wide limits (settings SCHEDULER_*)."""

    max_posts_per_cycle: int = 5000
    max_batches_per_guild: int = 10
    max_delay_fraction: float = 0.25
    lookahead_fraction: float = 0.25
    lookahead_max: timedelta = timedelta(minutes=30)
    # When the guild's run budget binds (Allowance.runs_bind):
    fill_lookahead_fraction: float = 0.5
    fill_lookahead_max: timedelta = timedelta(hours=6)
    min_fill: float = 0.5
    max_wait_fraction: float = 1.0
    new_post_max_wait: timedelta = timedelta(minutes=60)
    new_post_priority: float = 1000.0

    @property
    def horizon(self) -> timedelta:
        """How far ahead candidates are read: the wider of the two look-aheads."""
        return max(self.lookahead_max, self.fill_lookahead_max)

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_posts_per_cycle=settings.SCHEDULER_MAX_POSTS_PER_CYCLE,
            max_batches_per_guild=settings.SCHEDULER_MAX_BATCHES_PER_GUILD_PER_CYCLE,
            max_delay_fraction=settings.SCHEDULER_MAX_DELAY_FRACTION,
            lookahead_fraction=settings.SCHEDULER_LOOKAHEAD_FRACTION,
            lookahead_max=timedelta(minutes=settings.SCHEDULER_LOOKAHEAD_MAX_MINUTES),
            fill_lookahead_fraction=settings.SCHEDULER_FILL_LOOKAHEAD_FRACTION,
            fill_lookahead_max=timedelta(minutes=settings.SCHEDULER_FILL_LOOKAHEAD_MAX_MINUTES),
            min_fill=settings.SCHEDULER_MIN_FILL,
            max_wait_fraction=settings.SCHEDULER_MAX_WAIT_FRACTION,
            new_post_max_wait=timedelta(minutes=settings.SCHEDULER_NEW_POST_MAX_WAIT_MINUTES),
            new_post_priority=settings.SCHEDULER_NEW_POST_PRIORITY,
        )


@dataclass(frozen=True)
class Batch:
    """One vendor call: an Apify run (any size up to the guild's max) or one YouTube videos.list."""

    guild_id: int
    platform: str
    post_ids: tuple[int, ...]
    top_priority: float = 0.0

    @property
    def is_youtube(self) -> bool:
        return self.platform == YOUTUBE

    @property
    def cost(self) -> int:
        """Apify runs, or YouTube units."""
        return math.ceil(len(self.post_ids) / YOUTUBE_IDS_PER_UNIT) if self.is_youtube else 1


@dataclass
class Plan:
    """The batches to start, in order, and how many due posts wait (per guild and platform)."""

    batches: list[Batch] = field(default_factory=list)
    waiting: dict[tuple[int, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Candidate:
    post: Any
    due: bool
    must_go: bool
    score: float
    overdue: bool = False  # waited its maximum: goes in the next run whatever its fill


def _candidates(
    posts: Iterable[PostLike], now: datetime, cadence: Cadence, limits: Limits, binds: bool
) -> list[_Candidate]:
    """Due posts (priority order) then early ones (soonest first) — early ones only fill room.

    When the run budget binds, early posts come from a wider look-ahead, a never-measured post's
    priority is bounded (``new_post_priority``) and it waits up to ``new_post_max_wait`` for company;
    a post that has waited ``max_wait_fraction`` of its interval is ``overdue``."""
    due, early = [], []
    fraction, cap = limits.lookahead_fraction, limits.lookahead_max
    if binds:
        fraction, cap = max(fraction, limits.fill_lookahead_fraction), max(cap, limits.fill_lookahead_max)
    for post in posts:
        if post.status not in REFRESHABLE_STATUSES or post.next_refresh_at is None:
            continue
        interval = refresh_interval(post, now, cadence)
        if post.next_refresh_at <= now:
            waited = now - post.next_refresh_at
            if binds and is_new(post):
                must_go = overdue = waited >= limits.new_post_max_wait
                score = priority(post, now, limits.new_post_priority)
            else:
                must_go = waited >= interval * limits.max_delay_fraction
                overdue = not binds or waited >= interval * limits.max_wait_fraction
                score = priority(post, now, limits.new_post_priority if binds else math.inf)
            due.append(_Candidate(post, True, must_go, score, overdue))
        elif post.next_refresh_at <= now + min(interval * fraction, cap):
            early.append(_Candidate(post, False, False, 0.0))
    due.sort(key=lambda c: (-c.score, c.post.next_refresh_at, c.post.id))
    early.sort(key=lambda c: (c.post.next_refresh_at, c.post.id))
    return due + early


def _group_batches(
    guild_id: int, platform: str, cands: list[_Candidate], size: int, min_items: int
) -> tuple[list[Batch], int]:
    """Chunks worth starting: full of due posts; or holding a post that has waited long enough and
    at least ``min_items`` posts; or holding a post that has waited its maximum (``overdue``).
    Returns them and the number of due posts left waiting."""
    batches, waiting = [], 0
    for start in range(0, len(cands), size):
        chunk = cands[start : start + size]
        go = (len(chunk) == size and all(c.due for c in chunk)) or any(c.must_go and c.overdue for c in chunk)
        go = go or (len(chunk) >= min_items and any(c.must_go for c in chunk))
        if go:
            ids = tuple(c.post.id for c in chunk)
            batches.append(Batch(guild_id, platform, ids, max(c.score for c in chunk)))
        else:
            waiting += sum(1 for c in chunk if c.due)
    return batches, waiting


def _guild_batches(guild_posts: Sequence[PostLike], allowance: Allowance, now: datetime, limits: Limits, plan: Plan):
    """The guild's affordable batches, hottest first; what it cannot afford is counted as waiting."""
    by_platform: dict[str, list[PostLike]] = defaultdict(list)
    for post in guild_posts:
        by_platform[post.platform].append(post)
    batches: list[Batch] = []
    for platform in sorted(by_platform):
        binds = allowance.runs_bind and platform != YOUTUBE
        cands = _candidates(by_platform[platform], now, allowance.cadence, limits, binds)
        size = YOUTUBE_IDS_PER_UNIT if platform == YOUTUBE else max(1, allowance.max_items_per_run)
        min_items = math.ceil(size * limits.min_fill) if binds else 1
        chosen, waiting = _group_batches(allowance.guild_id, platform, cands, size, min_items)
        batches += chosen
        if waiting:
            plan.waiting[(allowance.guild_id, platform)] = waiting
    batches.sort(key=lambda b: (-b.top_priority, b.platform))
    runs, units, affordable = allowance.apify_runs, allowance.youtube_units, []
    for batch in batches:
        fits = (not allowance.youtube_paused and batch.cost <= units) if batch.is_youtube else runs >= 1
        if fits and len(affordable) < limits.max_batches_per_guild:
            affordable.append(batch)
            units, runs = (units - batch.cost, runs) if batch.is_youtube else (units, runs - 1)
        else:
            key = (allowance.guild_id, batch.platform)
            plan.waiting[key] = plan.waiting.get(key, 0) + _due_count(batch, guild_posts, now)
    return affordable


def _due_count(batch: Batch, posts: Sequence[PostLike], now: datetime) -> int:
    ids = set(batch.post_ids)
    return sum(1 for p in posts if p.id in ids and p.next_refresh_at is not None and p.next_refresh_at <= now)


def plan_cycle(
    *, posts: Iterable[PostLike], allowances: Mapping[int, Allowance], now: datetime, limits: Limits | None = None
) -> Plan:
    """Decide which batches to start now. Pure: no database, no clock but ``now``.

    ``posts`` are the candidates (due, or due within the lookahead), already without posts covered by
    a run in flight; ``allowances`` say what each guild may spend. Per guild and platform, due posts
    are sorted by ``priority`` and cut into runs of the guild's ``max_items_per_run`` (YouTube: 50 ids
    per unit); a run starts when a post in it has waited ``max_delay_fraction`` of its interval or it
    is full, and posts due within ``lookahead_fraction`` of their interval fill its spare room (when
    the guild's run budget binds: the fill rules in the module docstring). A guild
    never gets more than its allowance; guilds take turns, one batch each per round, until
    ``max_posts_per_cycle`` posts are planned — one guild's backlog cannot starve another.
    """
    limits = limits or Limits()
    plan = Plan()
    by_guild: dict[int, list[PostLike]] = defaultdict(list)
    for post in posts:
        if post.guild_id in allowances:
            by_guild[post.guild_id].append(post)
    queues = {gid: _guild_batches(by_guild[gid], allowances[gid], now, limits, plan) for gid in sorted(by_guild)}
    budget_posts = limits.max_posts_per_cycle
    for round_no in range(limits.max_batches_per_guild):
        for gid, queue in queues.items():
            if round_no >= len(queue):
                continue
            batch = queue[round_no]
            if len(batch.post_ids) <= budget_posts:
                plan.batches.append(batch)
                budget_posts -= len(batch.post_ids)
            else:
                key = (gid, batch.platform)
                plan.waiting[key] = plan.waiting.get(key, 0) + _due_count(batch, by_guild[gid], now)
    return plan
