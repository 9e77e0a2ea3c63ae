"""The leaderboard reads whole days from the daily rollups and only the partial edges from the
snapshots (metrics.selectors): on random histories its answers are exactly those of the reference —
the snapshot-only selector it replaced, kept here — for the leaderboard (and its pages, summed and
sorted in SQL), total_gains and the earnings rows' window views.

Histories: a few posts over six UTC days, snapshots at random instants (counts going up and down,
some without views), posted inside or before the windows or unknown, first measured mid-window,
with or without their own numbers kept as ingestion keeps them (their newest snapshot's),
counting windows ending mid-day, statuses counted or not; windows at random minutes, at UTC
midnights, or ending at "now", given in UTC or another time zone. Rollups are built both by
``rebuild_rollups`` and by ingestion's upsert folding the snapshots in a random order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import BigIntegerField, Case, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Least
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tenancy import guild_scope, rls_bypass
from earnings.selectors import _views_before as earnings_views_before
from metrics import selectors
from metrics.models import PostDailyRollup, VideoMetrics
from metrics.rollups import rebuild_rollups
from metrics.selectors import COUNTED_STATUSES, leaderboard, leaderboard_creators, leaderboard_page, total_gains
from tests.factories import fold_into_rollups, make_client_account, make_creator, make_profile
from tracking.models import Post

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, UTC midnight
DAYS = 6
MINUTES = DAYS * 24 * 60
NOW = MINUTES - 10 * 60  # the last day, 14:00

# ------------------------------------------------------------------ the reference: snapshots only


class _RefWindowEnd(Least):
    def as_sqlite(self, compiler, connection, **extra_context):
        window_end, end = self.get_source_expressions()
        return compiler.compile(Least(Coalesce(window_end, end), end))


def _ref_views_before(moment) -> Subquery:
    return Subquery(
        VideoMetrics.objects.filter(post=OuterRef("pk"), captured_at__lt=moment, views__isnull=False)
        .order_by("-captured_at")
        .values("views")[:1]
    )


def _ref_first_views_from(moment) -> Subquery:
    return Subquery(
        VideoMetrics.objects.filter(post=OuterRef("pk"), captured_at__gte=moment, views__isnull=False)
        .order_by("captured_at")
        .values("views")[:1]
    )


def _ref_baseline(start):
    return Coalesce(
        _ref_views_before(start),
        Case(
            When(Q(posted_at__gte=start) | Q(posted_at__isnull=True, submitted_at__gte=start), then=Value(0)),
            default=Coalesce(_ref_first_views_from(start), 0),
            output_field=BigIntegerField(),
        ),
        output_field=BigIntegerField(),
    )


def reference_rows(guild_id: int, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """post id -> (baseline, views_end), as the snapshot-only selector computed them."""
    posts = Post.objects.for_guild(guild_id).filter(
        status__in=COUNTED_STATUSES, submitted_at__lt=end, metrics_updated_at__gte=start
    )
    views_end = Coalesce(_ref_views_before(_RefWindowEnd(OuterRef("counting_ends_at"), Value(end))), 0)
    rows = posts.annotate(views_end=views_end, baseline=_ref_baseline(start)).values_list("pk", "baseline", "views_end")
    return {pk: (baseline, views_end) for pk, baseline, views_end in rows}


def reference_earnings_views(guild_id: int, instant: datetime) -> dict[int, int | None]:
    """The earnings selector's window views as they were read from the snapshots."""
    cutoff = Least(Value(instant), Coalesce(OuterRef("counting_ends_at"), Value(instant)))
    return dict(Post.objects.for_guild(guild_id).annotate(v=_ref_views_before(cutoff)).values_list("pk", "v"))


# ------------------------------------------------------------------------------- random histories

_minute = st.integers(min_value=0, max_value=MINUTES - 1)
_midnight = st.integers(min_value=0, max_value=DAYS).map(lambda d: d * 1440)
_near_now = st.integers(min_value=NOW - 120, max_value=MINUTES - 1)  # around "now": before and after it

_post = st.fixed_dictionaries(
    {
        "posted": st.one_of(st.none(), st.integers(min_value=-2 * 1440, max_value=MINUTES)),
        "submitted_after": st.integers(min_value=0, max_value=2 * 1440),
        "counting_ends": st.one_of(st.none(), _minute, _midnight),
        "status": st.sampled_from(["tracking", "tracking", "finalized", "flagged", "rejected"]),
        "updated": st.integers(min_value=0, max_value=MINUTES),
        # the post's own numbers as ingestion keeps them (its newest snapshot's views and time), which
        # the selector reads for "now"; else none (views NULL) and a random time
        "as_ingested": st.booleans(),
        "snapshots": st.dictionaries(
            st.one_of(_minute, _midnight.filter(lambda m: m < MINUTES), _near_now),
            st.one_of(st.none(), st.integers(min_value=0, max_value=5_000)),
            max_size=14,
        ),
    }
)


@st.composite
def _window(draw):
    kind = draw(st.sampled_from(["random", "midnights", "to_now", "midnight_to_random"]))
    if kind == "midnights":
        a, b = sorted(draw(st.lists(_midnight, min_size=2, max_size=2, unique=True)))
    elif kind == "to_now":  # up to "now", within the last hour
        a, b = draw(st.one_of(_midnight, _minute)), NOW - draw(st.integers(min_value=0, max_value=59))
        a = min(a, b - 1)
    elif kind == "midnight_to_random":
        a = draw(_midnight)
        b = draw(st.integers(min_value=a + 1, max_value=MINUTES + 60))
    else:
        a, b = sorted(
            draw(st.lists(st.integers(min_value=-60, max_value=MINUTES + 60), min_size=2, max_size=2, unique=True))
        )
    tz = draw(st.sampled_from([UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]))  # same instants
    return (T0 + timedelta(minutes=a)).astimezone(tz), (T0 + timedelta(minutes=b)).astimezone(tz)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=(minutes * 7) % 60)


def _load(guild, profile, client, posts: list[dict]) -> tuple[list[Post], list[int]]:
    made, snapshot_ids = [], []
    with rls_bypass(reason="test setup"):
        for i, spec in enumerate(posts):
            posted = None if spec["posted"] is None else _at(spec["posted"])
            submitted = (posted or T0) + timedelta(minutes=spec["submitted_after"])
            updated, views = _at(spec["updated"]), None
            if spec["as_ingested"] and spec["snapshots"]:
                newest = max(spec["snapshots"])
                updated, views = _at(newest), spec["snapshots"][newest]
            made.append(
                Post.objects.create(
                    guild=guild,
                    creator=profile.creator,
                    profile=profile,
                    client_account=client,
                    platform="tiktok",
                    external_id=f"77{i}",
                    submitted_url=f"https://www.tiktok.com/@h/video/77{i}",
                    canonical_url=f"https://www.tiktok.com/@h/video/77{i}",
                    status=spec["status"],
                    posted_at=posted,
                    submitted_at=submitted,
                    metrics_updated_at=updated,
                    views=views,
                    counting_ends_at=None if spec["counting_ends"] is None else _at(spec["counting_ends"]),
                )
            )
        stored = VideoMetrics.objects.bulk_create(
            [
                VideoMetrics(guild=guild, post=post, captured_at=_at(m), views=v, provider="apify")
                for post, spec in zip(made, posts, strict=True)
                for m, v in spec["snapshots"].items()
            ]
        )
        snapshot_ids = [s.pk for s in stored]
    return made, snapshot_ids


def _assert_equal_to_reference(guild_id: int, windows: list[tuple[datetime, datetime]]) -> None:
    with guild_scope(guild_id):
        expected = [reference_rows(guild_id, s, e) for s, e in windows]
        for (start, end), want in zip(windows, expected, strict=True):
            board = leaderboard(guild=guild_id, start=start, end=end)
            got = {p.post_id: (p.views_start, p.views_end) for p in board.posts}
            assert got == want, (start, end)
            assert board.total_views_gained == sum(max(0, e - b) for b, e in want.values())
            # every creator, summed in SQL (the creators page and CSV, the bot's stats, bonuses)
            assert leaderboard_creators(guild=guild_id, start=start, end=end) == board.creators
            assert (
                leaderboard_creators(guild=guild_id, start=start, end=end, held=False)
                == leaderboard(guild=guild_id, start=start, end=end, held=False).creators
            )
            for page in range(1, len(board.posts) // 2 + 3):  # the API's pages: slices of the same rows
                one = leaderboard_page(guild=guild_id, start=start, end=end, page=page, page_size=2)
                assert (one.posts, one.creators) == (
                    board.posts[2 * page - 2 : 2 * page],
                    board.creators[2 * page - 2 : 2 * page],
                )
                assert (one.creators_count, one.posts_count, one.total_views_gained) == (
                    len(board.creators),
                    len(board.posts),
                    board.total_views_gained,
                )
                # the dashboard's page: its own page of posts, of another size, in the same statement
                posts_page = page % 3 + 1
                apart = leaderboard_page(
                    guild=guild_id,
                    start=start,
                    end=end,
                    page=page,
                    page_size=2,
                    posts_page=posts_page,
                    posts_page_size=3,
                )
                assert (apart.creators, apart.posts) == (one.creators, board.posts[3 * posts_page - 3 : 3 * posts_page])
                assert (apart.creators_count, apart.posts_count, apart.total_views_gained) == (
                    one.creators_count,
                    one.posts_count,
                    one.total_views_gained,
                )
        assert total_gains(guild=guild_id, windows=windows) == [
            sum(max(0, e - b) for b, e in want.values()) for want in expected
        ]
        moments = sorted({m for w in windows for m in w})
        for instant in moments:
            got = dict(
                Post.objects.for_guild(guild_id).annotate(v=earnings_views_before(instant)).values_list("pk", "v")
            )
            assert got == reference_earnings_views(guild_id, instant), instant


@pytest.fixture
def author(guild, monkeypatch):
    # "now" on the last day (later snapshots too, as if clocks differed): instants in the hour before
    # it read their day's rollup first, older ones the snapshots first (metrics.selectors.RECENT)
    monkeypatch.setattr(selectors, "timezone", SimpleNamespace(now=lambda: T0 + timedelta(minutes=NOW)))
    return make_profile(guild, make_creator(guild)), make_client_account(guild)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    posts=st.lists(_post, min_size=1, max_size=5),
    windows=st.lists(_window(), min_size=1, max_size=4),
    order=st.randoms(use_true_random=False),
)
def test_rollup_reads_equal_the_snapshot_reference(guild, author, posts, windows, order):
    profile, client = author
    with transaction.atomic():  # each example in its own savepoint, rolled back
        _, snapshot_ids = _load(guild, profile, client, posts)
        with guild_scope(guild.pk):
            rebuild_rollups(guild_id=guild.pk)
        _assert_equal_to_reference(guild.pk, windows)

        # the same rollups as ingestion writes them: one upsert per dataset, datasets in any order
        with rls_bypass(reason="test setup"):
            PostDailyRollup.objects.filter(guild=guild).delete()
            order.shuffle(snapshot_ids)
            for snapshot_id in snapshot_ids:  # a dataset holds one snapshot per post
                fold_into_rollups([snapshot_id])
        _assert_equal_to_reference(guild.pk, windows)
        transaction.set_rollback(True)
