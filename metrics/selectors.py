"""Reads that shape numbers across models. The leaderboard here is THE number: the dashboard, the
API, the CSV export, daily reports and weekly bonuses all call it, so they agree everywhere.

Views gained by a post inside [start, end) is ``as_of(end) - baseline``:

- ``as_of(t)`` is the views of the newest snapshot captured before ``t`` (clamped to the end of the
  post's counting window: views after the window never count);
- ``baseline`` is ``as_of(start)`` when we measured the post before the period; otherwise 0 if the
  post went up inside the period (all its views are new), else its first measurement inside the
  period (views an old post had before we first saw it were not gained in the period).

Gains are never negative (a platform that recounts downwards does not take views away). Each value
is one correlated subquery per post on the (post, captured_at) index: a constant number of queries,
never a scan of the snapshot table.

Written for plans under row-level security (tests/metrics/test_read_plans.py keeps them so): the
policy runs before any qual that is not leakproof, so a bound wrapped in COALESCE would be a Filter
applied after walking every newer snapshot of the post, not an Index Cond. Hence the window end is
``LEAST(counting_ends_at, end)`` (PostgreSQL's LEAST skips NULLs), ``views_before`` appears once in
the SQL (the baseline is ``COALESCE(views_before, ...)`` in the select list, never around a bound),
rows come back as tuples (no model instances) and with no ORDER BY (sorting is done on the gains).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    BigIntegerField,
    Case,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least

from guilds.models import Guild
from metrics.models import VideoMetrics
from tracking.models import Post

COUNTED_STATUSES = (
    Post.Status.SUBMITTED,
    Post.Status.TRACKING,
    Post.Status.FLAGGED,
    Post.Status.UNAVAILABLE,
    Post.Status.FINALIZED,
)
# What weekly bonuses count: the same, less held (flagged) posts, which wait for a reviewer.
UNHELD_STATUSES = tuple(s for s in COUNTED_STATUSES if s != Post.Status.FLAGGED)


class _WindowEnd(Least):
    """``LEAST(counting_ends_at, end)``: the end of what counts for a post.

    PostgreSQL's LEAST ignores NULLs (no counting window → ``end``) and keeps the comparison an index
    condition under RLS, where COALESCE would not. SQLite's MIN() returns NULL when any argument is
    NULL, so there (and only there) the NULL is coalesced first.
    """

    def as_sqlite(self, compiler, connection, **extra_context):
        window_end, end = self.get_source_expressions()
        return compiler.compile(Least(Coalesce(window_end, end), end))


def _views_before(moment) -> Subquery:
    return Subquery(
        VideoMetrics.objects.filter(post=OuterRef("pk"), captured_at__lt=moment, views__isnull=False)
        .order_by("-captured_at")
        .values("views")[:1]
    )


def _first_views_from(moment) -> Subquery:
    return Subquery(
        VideoMetrics.objects.filter(post=OuterRef("pk"), captured_at__gte=moment, views__isnull=False)
        .order_by("captured_at")
        .values("views")[:1]
    )


def _views_end(end) -> Coalesce:
    """Views of the newest snapshot before ``end``, clamped to the post's counting window (0: none)."""
    return Coalesce(_views_before(_WindowEnd(OuterRef("counting_ends_at"), Value(end))), 0)


def _baseline(start) -> Coalesce:
    """Views the post had at ``start`` (module docstring); ``views_before`` appears once in the SQL."""
    return Coalesce(
        _views_before(start),
        Case(
            # went up inside the period: all its views are new
            When(Q(posted_at__gte=start) | Q(posted_at__isnull=True, submitted_at__gte=start), then=Value(0)),
            # an old post first seen inside the period: from its first measurement
            default=Coalesce(_first_views_from(start), 0),
            output_field=BigIntegerField(),
        ),
        output_field=BigIntegerField(),
    )


def _counted_posts(guild: Guild | int, start: datetime, end: datetime, statuses: Sequence[str] = COUNTED_STATUSES):
    guild_id = getattr(guild, "pk", guild)
    return (
        Post.objects.for_guild(guild_id)
        .filter(status__in=statuses, submitted_at__lt=end, metrics_updated_at__gte=start)
        .order_by()
    )


def posts_with_gains(*, guild: Guild | int, start: datetime, end: datetime, held: bool = True):
    """The guild's counted posts, annotated with ``baseline`` (views at the start) and ``views_end``
    for [start, end); unordered. Posts untouched since before ``start`` are left out (they gained
    nothing); ``held=False`` leaves out held (flagged) posts too."""
    statuses = COUNTED_STATUSES if held else UNHELD_STATUSES
    return _counted_posts(guild, start, end, statuses).annotate(views_end=_views_end(end), baseline=_baseline(start))


def total_gains(*, guild: Guild | int, windows: Sequence[tuple[datetime, datetime]]) -> list[int]:
    """The leaderboard's ``total_views_gained`` for each [start, end) window, in one query whatever
    the number of windows (the overview's cards, comparisons and chart days)."""
    if not windows:
        return []
    posts = _counted_posts(guild, min(s for s, _ in windows), max(e for _, e in windows))
    sums = {
        f"w{i}": Sum(
            Case(
                When(
                    Q(submitted_at__lt=end, metrics_updated_at__gte=start),
                    then=Greatest(_views_end(end) - _baseline(start), Value(0)),
                ),
                default=Value(0),
                output_field=BigIntegerField(),
            )
        )
        for i, (start, end) in enumerate(windows)
    }
    totals = posts.aggregate(**sums)
    return [int(totals[f"w{i}"] or 0) for i in range(len(windows))]


_ROW = (
    "pk",
    "creator_id",
    "creator__username",
    "creator__discord_user_id",
    "platform",
    "canonical_url",
    "client_account__name",
    "baseline",
    "views_end",
)


def gain_rows(*, guild: Guild | int, start: datetime, end: datetime, creator_id: int | None = None, held: bool = True):
    """The leaderboard's one query: a tuple per post, in ``_ROW``'s order."""
    rows = posts_with_gains(guild=guild, start=start, end=end, held=held)
    if creator_id is not None:
        rows = rows.filter(creator_id=creator_id)
    return rows.values_list(*_ROW)


@dataclass(frozen=True)
class PostGain:
    post_id: int
    creator_id: int
    creator_name: str
    platform: str
    url: str
    client_account: str
    views_start: int
    views_end: int
    views_gained: int


@dataclass(frozen=True)
class CreatorGain:
    creator_id: int
    creator_name: str
    discord_user_id: str
    posts: int
    views_gained: int
    rank: int


@dataclass(frozen=True)
class Leaderboard:
    start: datetime
    end: datetime
    creators: list[CreatorGain]
    posts: list[PostGain]

    @property
    def total_views_gained(self) -> int:
        return sum(p.views_gained for p in self.posts)


def leaderboard(
    *, guild: Guild | int, start: datetime, end: datetime, creator_id: int | None = None, held: bool = True
) -> Leaderboard:
    """Views gained inside [start, end) per post and per creator, best first (ties: lower id first).
    ``held=False`` leaves held (flagged) posts out: what weekly bonuses count."""
    posts = []
    names: dict[int, tuple[str, str]] = {}
    rows = gain_rows(guild=guild, start=start, end=end, creator_id=creator_id, held=held)
    for pk, creator_id, username, discord_id, platform, url, client, baseline, views_end in rows:
        names[creator_id] = (username, discord_id)
        posts.append(
            PostGain(pk, creator_id, username, platform, url, client, baseline, views_end, max(0, views_end - baseline))
        )
    posts.sort(key=lambda g: (-g.views_gained, g.post_id))
    per_creator: dict[int, list[PostGain]] = defaultdict(list)
    for g in posts:
        per_creator[g.creator_id].append(g)
    ordered = sorted(per_creator.items(), key=lambda kv: (-sum(g.views_gained for g in kv[1]), kv[0]))
    creators = [
        CreatorGain(cid, names[cid][0], names[cid][1], len(gs), sum(g.views_gained for g in gs), rank)
        for rank, (cid, gs) in enumerate(ordered, start=1)
    ]
    return Leaderboard(start=start, end=end, creators=creators, posts=posts)
