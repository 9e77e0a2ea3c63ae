"""Reads that shape numbers across models. The leaderboard here is THE number: the dashboard, the
API, the CSV export, daily reports and weekly bonuses all call it (and earnings.selectors reads a
post's window views with ``views_at_window_end``), so they agree everywhere.

Views gained by a post inside [start, end) is ``as_of(end) - baseline``:

- ``as_of(t)`` is the views of the newest snapshot with views captured before ``t`` (clamped to the
  end of the post's counting window: views after the window never count);
- ``baseline`` is ``as_of(start)`` when we measured the post before the period; otherwise 0 if the
  post went up inside the period (all its views are new), else its first measurement inside the
  period (views an old post had before we first saw it were not gained in the period).

Gains are never negative (a platform that recounts downwards does not take views away).

Whole days come from the daily rollups (metrics.rollups: each post's newest snapshot with views of
each UTC day), instants inside a day from the snapshots. With ``D`` the UTC day of ``t``:

- ``t`` a UTC midnight (a day boundary in a guild on UTC, the chart's days): the post's newest
  rollup before ``D`` — the row of the day before, joined (most posts were measured that day), else
  one probe of the rollups' (post, day) index;
- ``t`` within the last hour (``RECENT``: a period ending now): the post's own numbers when its
  newest measurement came before ``t`` (ingestion keeps ``Post.views`` and ``metrics_updated_at``
  those of its newest snapshot; NULL views when that snapshot had none); else the row of ``D``,
  joined, when it was captured before ``t`` (the day's last measurement so far), the newest rollup
  before ``D`` when the post has no row that day, and otherwise the newest snapshot before ``t``;
- any other ``t`` (inside a day, earlier: "yesterday until this time", another time zone's
  midnight): the newest snapshot before ``t`` — most posts were measured again later that day, so
  its rollup would not answer.

A day's rows are joined once per query (``_DayRows``: one LEFT JOIN per day on the rollups' (guild,
day) index, which covers post, views and captured_at, so PostgreSQL reads the day from the index
alone): one pass over a day instead of one probe per post.

A post whose counting window ends before ``end`` reads ``as_of(counting_ends_at)`` from the snapshots
(its day would have to be computed in SQL, see below), and so does the first measurement inside the
period (old posts first seen mid-period): the rollups keep each day's last measurement, not its
first. tests/metrics/test_rollup_reads.py holds the snapshot-only selector this replaced and checks
that both give the same answers on random histories. So the rollups must stay true to the snapshots:
ingestion upserts them in the same transaction, and anything else that writes snapshots rebuilds them
(``manage.py rebuild_rollups``, the demo data); and a post's own numbers must stay its newest
snapshot's (ingestion writes them in the same transaction, the demo data too). One known gap
(metrics.rollups): a snapshot re-ingested without views keeps its day's row, so the leaderboard
still counts the earlier views until the next rebuild.

Every other value is one correlated subquery per post — an index probe of the rollups or of the
snapshots' (post, captured_at), evaluated lazily (COALESCE and CASE stop at the first answer): a
constant number of queries, never a scan of either table. A week ending now on a guild in UTC reads
its counted posts, the rows of the day before it began from the index, and probes only posts not
measured that day; it still grows with the number of posts, by a hash join rather than by probes.

Written for plans under row-level security (tests/metrics/test_read_plans.py keeps them so): the
policy runs before any qual that is not leakproof, so a bound wrapped in COALESCE (or computed by a
function of the outer row such as ``date_trunc``: measured on PostgreSQL 15) would be a Filter
applied after walking every older row of the post, not an Index Cond. Hence the UTC day is computed in
Python, the counting window is a CASE around the probes (never inside a bound), rows come back as
plain tuples (no model instances, no per-row converters) and with no ORDER BY (sorting is done on the
gains).

``leaderboard()`` builds every row in Python (the posts CSV and daily reports need the posts);
``leaderboard_page()`` answers the API's, the overview's and the dashboard leaderboard's pages with
the same rows summed, counted and sorted in SQL, building only the page, and
``leaderboard_creators()`` every creator the same way (the creators page and CSV, the bot's stats,
weekly bonuses). Both still pay the per-post
reads; the page saves the Python per row (bench/README.md has the numbers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from django.db import connections
from django.db.models import (
    BigIntegerField,
    Case,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from guilds.models import Creator, Guild
from metrics.models import PostDailyRollup, VideoMetrics
from tracking.models import ClientAccount, Post

COUNTED_STATUSES = (
    Post.Status.SUBMITTED,
    Post.Status.TRACKING,
    Post.Status.FLAGGED,
    Post.Status.UNAVAILABLE,
    Post.Status.FINALIZED,
)
# What weekly bonuses count: the same, less held (flagged) posts, which wait for a reviewer.
UNHELD_STATUSES = tuple(s for s in COUNTED_STATUSES if s != Post.Status.FLAGGED)


def _utc_midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _rollup_views(before_day) -> Subquery:
    """Views of the post's newest daily rollup before ``before_day``: all the whole days before it."""
    return Subquery(
        PostDailyRollup.objects.filter(post=OuterRef("pk"), day__lt=before_day).order_by("-day").values("views")[:1]
    )


def _rollup_views_if_before(day, moment: datetime) -> Subquery:
    """Views of the post's newest rollup up to ``day`` when it was captured before ``moment``; NULL
    when it was captured later (or there is none)."""
    before = Case(When(captured_at__lt=moment, then=F("views")), output_field=BigIntegerField())
    return Subquery(
        PostDailyRollup.objects.filter(post=OuterRef("pk"), day__lte=day)
        .order_by("-day")
        .annotate(before=before)
        .values("before")[:1]
    )


def _views_before(moment) -> Subquery:
    """Views of the post's newest snapshot with views before ``moment`` (a value, or an expression
    of the outer row): one probe of the (post, captured_at) index."""
    return Subquery(
        VideoMetrics.objects.filter(post=OuterRef("pk"), captured_at__lt=moment, views__isnull=False)
        .order_by("-captured_at")
        .values("views")[:1]
    )


# An instant inside a day at most this long ago is read from its day's rollup first: most posts'
# last measurement of the day came before it (it is "now"). Older ones were usually measured again
# later that day, so the snapshots come first. Either way the answer is the same; only the work is.
RECENT = timedelta(hours=1)


class _DayRows:
    """The rollup rows of given UTC days, each joined to the posts once (a LEFT JOIN per day, on the
    rollups' (guild, day) index, which carries post, views and captured_at so that PostgreSQL reads
    a whole day's rows from the index alone). A day's row answers for most posts — those measured
    that day — in one pass over the day, instead of one probe per post; the probes stay as the
    fallback for the others (a post not measured that day). ``apply`` adds the joins to the query."""

    def __init__(self, guild_id: int):
        self.guild_id = guild_id
        self.relations: dict[str, FilteredRelation] = {}

    def day(self, day) -> str:
        alias = f"rollup_{day:%Y%m%d}"
        if alias not in self.relations:
            condition = Q(daily_rollups__guild_id=self.guild_id, daily_rollups__day=day)
            self.relations[alias] = FilteredRelation("daily_rollups", condition=condition)
        return alias

    def apply(self, posts):
        return posts.alias(**self.relations) if self.relations else posts


def _views_at(moment: datetime, rows: _DayRows | None = None):
    """``as_of(moment)`` (module docstring) for one instant; with ``rows``, the rollup rows of the
    day before a midnight (or of a recent instant's day) are joined rather than probed."""
    midnight = _utc_midnight(moment)
    day = midnight.date()
    if moment == midnight:
        if rows is None:
            return _rollup_views(day)
        # the day before's row, when the post was measured then; else its newest row before that
        before = rows.day(day - timedelta(days=1))
        return Coalesce(F(f"{before}__views"), _rollup_views(day), output_field=BigIntegerField())
    snapshots = _views_before(Value(moment))
    if moment < timezone.now() - RECENT:
        return snapshots
    if rows is None:
        return Coalesce(_rollup_views_if_before(day, moment), snapshots, output_field=BigIntegerField())
    today = rows.day(day)
    latest = Case(
        # the post's own numbers are its newest snapshot's (ingestion keeps ``views`` and
        # ``metrics_updated_at`` so; NULL views when that snapshot had none): when it came before
        # ``moment``, it is the answer, with no read at all
        When(Q(metrics_updated_at__lt=moment, views__isnull=False), then=F("views")),
        # measured today before ``moment``: today's row is its newest measurement before it
        When(**{f"{today}__captured_at__lt": moment}, then=F(f"{today}__views")),
        # not measured today: its newest row before today
        When(**{f"{today}__day__isnull": True}, then=_rollup_views(day)),
        output_field=BigIntegerField(),
    )  # else (measured today after ``moment``, an instant within the last hour) the snapshots answer
    return Coalesce(latest, snapshots, output_field=BigIntegerField())


def views_at_window_end(end: datetime, rows: _DayRows | None = None) -> Case:
    """A post's views as of ``end`` clamped to its counting window (views after the window never
    count): the window's end when it closes before ``end``, else ``end``. NULL when the post had no
    measurement with views by then. Shared with earnings.selectors."""
    return Case(
        When(counting_ends_at__lt=end, then=_views_before(OuterRef("counting_ends_at"))),
        default=_views_at(end, rows),
        output_field=BigIntegerField(),
    )


def _first_views_from(moment) -> Subquery:
    return Subquery(
        VideoMetrics.objects.filter(post=OuterRef("pk"), captured_at__gte=moment, views__isnull=False)
        .order_by("captured_at")
        .values("views")[:1]
    )


def _views_end(end, rows: _DayRows) -> Coalesce:
    """Views as of ``end``, clamped to the post's counting window (0: none)."""
    return Coalesce(views_at_window_end(end, rows), 0, output_field=BigIntegerField())


def _baseline(start, rows: _DayRows) -> Coalesce:
    """Views the post had at ``start`` (module docstring)."""
    return Coalesce(
        _views_at(start, rows),
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
    rows = _DayRows(getattr(guild, "pk", guild))
    values = {"views_end": _views_end(end, rows), "baseline": _baseline(start, rows)}
    return rows.apply(_counted_posts(guild, start, end, statuses)).annotate(**values)


def total_gains(*, guild: Guild | int, windows: Sequence[tuple[datetime, datetime]]) -> list[int]:
    """The leaderboard's ``total_views_gained`` for each [start, end) window, in one query whatever
    the number of windows (the overview's cards, comparisons and chart days)."""
    if not windows:
        return []
    rows = _DayRows(getattr(guild, "pk", guild))
    sums = {
        f"w{i}": Sum(
            Case(
                When(
                    Q(submitted_at__lt=end, metrics_updated_at__gte=start),
                    then=Greatest(_views_end(end, rows) - _baseline(start, rows), Value(0)),
                ),
                default=Value(0),
                output_field=BigIntegerField(),
            )
        )
        for i, (start, end) in enumerate(windows)
    }
    posts = _counted_posts(guild, min(s for s, _ in windows), max(e for _, e in windows))
    totals = rows.apply(posts).aggregate(**sums)
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
    names: dict[int, tuple[str, str]] = {}
    gained: dict[int, int] = defaultdict(int)  # per creator
    counted: dict[int, int] = defaultdict(int)
    keyed = []
    rows = gain_rows(guild=guild, start=start, end=end, creator_id=creator_id, held=held)
    with connections[rows.db].cursor() as cursor:  # plain tuples: no per-row converters on 20,000 rows
        cursor.execute(*rows.query.get_compiler(using=rows.db).as_sql())
        fetched = cursor.fetchall()
    for row in fetched:
        pk, creator_id, username, discord_id, _, _, _, baseline, views_end = row
        gain = views_end - baseline if views_end > baseline else 0
        names[creator_id] = (username, discord_id)
        gained[creator_id] += gain
        counted[creator_id] += 1
        keyed.append((-gain, pk, gain, row))
    keyed.sort(key=itemgetter(0, 1))
    posts = [
        PostGain(pk, creator_id, username, platform, url, client, baseline, views_end, gain)
        for _, _, gain, (pk, creator_id, username, _, platform, url, client, baseline, views_end) in keyed
    ]
    ordered = sorted(gained, key=lambda cid: (-gained[cid], cid))
    creators = [
        CreatorGain(cid, names[cid][0], names[cid][1], counted[cid], gained[cid], rank)
        for rank, cid in enumerate(ordered, start=1)
    ]
    return Leaderboard(start=start, end=end, creators=creators, posts=posts)


@dataclass(frozen=True)
class LeaderboardPage:
    """One page of the leaderboard's creators and one of its posts (the same page for the API and the
    bot; the dashboard's leaderboard page asks for its own posts page) with the totals of the whole
    guild."""

    start: datetime
    end: datetime
    creators: list[CreatorGain]
    posts: list[PostGain]
    creators_count: int
    posts_count: int
    total_views_gained: int


def _page_sql(
    guild: Guild | int,
    start: datetime,
    end: datetime,
    first: int,
    size: int,
    posts_first: int | None = None,
    posts_size: int | None = None,
    held: bool = True,
) -> tuple[str, list]:
    """The page (``size`` creators from ``first``; ``posts_size`` posts from ``posts_first``, by
    default the same) in one statement: each post's baseline and views at the end computed once
    (``r``, materialized so that PostgreSQL does not inline its subqueries into every use), the gains
    summed per creator in SQL, and only the page's rows sorted out, then joined to their names. Rows
    are tagged: 0 the totals, 1 a creator, 2 a post."""
    per_post = posts_with_gains(guild=guild, start=start, end=end, held=held).values_list(
        "pk", "creator_id", "baseline", "views_end"
    )
    inner, params = per_post.query.get_compiler(using=per_post.db).as_sql()
    qn = connections[per_post.db].ops.quote_name
    creators = qn(Creator._meta.db_table)
    posts = qn(Post._meta.db_table)
    clients = qn(ClientAccount._meta.db_table)
    sql = f"""
        WITH r AS MATERIALIZED ({inner}),
        g AS MATERIALIZED (
            SELECT r.pk, r.creator_id, r.baseline, r.views_end,
                CASE WHEN r.views_end > r.baseline THEN r.views_end - r.baseline ELSE 0 END AS gain
            FROM r
        ),
        c AS (SELECT creator_id, COUNT(*) AS posts, CAST(SUM(gain) AS BIGINT) AS gained FROM g GROUP BY creator_id)
        SELECT 0, NULL, NULL, NULL, NULL, NULL, NULL, (SELECT COUNT(*) FROM c), (SELECT COUNT(*) FROM g),
            (SELECT CAST(COALESCE(SUM(gain), 0) AS BIGINT) FROM g), 0, 0
        UNION ALL
        SELECT 1, t.creator_id, t.creator_id, cr.username, cr.discord_user_id, NULL, NULL, t.posts, t.gained,
            0, t.gained, t.creator_id
        FROM (SELECT * FROM c ORDER BY gained DESC, creator_id LIMIT %s OFFSET %s) t
            JOIN {creators} cr ON cr.id = t.creator_id
        UNION ALL
        SELECT 2, t.pk, t.creator_id, cr.username, po.canonical_url, po.platform, ca.name, t.baseline,
            t.views_end, t.gain, t.gain, t.pk
        FROM (SELECT * FROM g ORDER BY gain DESC, pk LIMIT %s OFFSET %s) t
            JOIN {posts} po ON po.id = t.pk
            JOIN {creators} cr ON cr.id = t.creator_id
            JOIN {clients} ca ON ca.id = po.client_account_id
        ORDER BY 1, 11 DESC, 12
    """
    posts_first = first if posts_first is None else posts_first
    posts_size = size if posts_size is None else posts_size
    return sql, [*params, size, first, posts_size, posts_first]


def leaderboard_page(
    *,
    guild: Guild | int,
    start: datetime,
    end: datetime,
    page: int,
    page_size: int,
    posts_page: int | None = None,
    posts_page_size: int | None = None,
    held: bool = True,
) -> LeaderboardPage:
    """Page ``page`` (1 = the top) of ``page_size`` creators and posts of ``leaderboard()`` — the same
    rows, ranks and order as its slices — with its totals (creators, posts, views gained), without
    building the whole guild's rows in Python. ``posts_page`` / ``posts_page_size`` page the posts
    apart from the creators (default: the creators' page and size), in the same statement: the
    per-post probes, the costly part, run once. A page past the end has empty lists. ``held=False``
    leaves held (flagged) posts out, as ``leaderboard()``'s does."""
    first = (page - 1) * page_size
    posts_page = page if posts_page is None else posts_page
    posts_page_size = page_size if posts_page_size is None else posts_page_size
    posts_first = (posts_page - 1) * posts_page_size
    sql, params = _page_sql(guild, start, end, first, page_size, posts_first, posts_page_size, held)
    with connections[Post.objects.db].cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    creators: list[CreatorGain] = []
    posts: list[PostGain] = []
    counts = (0, 0, 0)
    for kind, pk, creator_id, name, text, platform, client, a, b, gain, _, _ in fetched:
        if kind == 0:
            counts = (a, b, gain)
        elif kind == 1:
            creators.append(CreatorGain(pk, name, text, a, b, first + len(creators) + 1))
        else:
            posts.append(PostGain(pk, creator_id, name, platform, text, client, a, b, gain))
    return LeaderboardPage(
        start=start,
        end=end,
        creators=creators,
        posts=posts,
        creators_count=counts[0],
        posts_count=counts[1],
        total_views_gained=counts[2],
    )


_EVERY = 2**31 - 1  # a LIMIT that keeps every row


def leaderboard_creators(*, guild: Guild | int, start: datetime, end: datetime, held: bool = True) -> list[CreatorGain]:
    """Every creator of ``leaderboard()`` — the same rows, ranks and order — summed and sorted in SQL,
    with no post row built: for readers of the creators only (the creators page, the bot's stats, the
    creators CSV, weekly bonuses)."""
    return leaderboard_page(
        guild=guild, start=start, end=end, page=1, page_size=_EVERY, posts_page_size=0, held=held
    ).creators
