"""The leaderboard's numbers on a hand-computed fixture whose snapshots straddle the period."""

from datetime import UTC, datetime, timedelta

import pytest

from core.tenancy import guild_scope
from metrics.periods import period_bounds
from metrics.selectors import leaderboard
from tests.factories import make_creator, make_post, make_profile, make_snapshot

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
END = START + timedelta(days=7)


def scoped_board(guild_id):
    with guild_scope(guild_id):
        return leaderboard(guild=guild_id, start=START, end=END)


def at(days: float) -> datetime:
    return START + timedelta(days=days)


@pytest.fixture
def board(guild):
    alice, bob = make_creator(guild, username="alice"), make_creator(guild, username="bob")
    # measured before the week: 1000 → 5000 inside → gained 4000 (the 9000 after the week is not counted)
    old = make_post(guild, make_profile(guild, alice), posted_at=at(-10), submitted_at=at(-10))
    for d, v in [(-3, 800), (-0.5, 1000), (3, 5000), (8, 9000)]:
        make_snapshot(old, views=v, at=at(d))
    # went up inside the week: all 2500 views are new
    new = make_post(guild, make_profile(guild, bob), posted_at=at(2), submitted_at=at(2))
    for d, v in [(2.1, 300), (6, 2500)]:
        make_snapshot(new, views=v, at=at(d))
    # an old post first seen inside the week: from its first measurement 10000 → 10600 = 600
    late = make_post(guild, make_profile(guild, bob), posted_at=at(-30), submitted_at=at(0.5))
    for d, v in [(1, 10_000), (5, 10_600)]:
        make_snapshot(late, views=v, at=at(d))
    with guild_scope(guild.id):
        for p in (old, new, late):
            p.metrics_updated_at = at(6)
            p.save()
    return alice, bob, old, new, late


def test_views_gained_inside_the_period(board):
    alice, bob, old, new, late = board
    result = scoped_board(old.guild_id)
    gains = {p.post_id: p.views_gained for p in result.posts}
    assert gains == {old.pk: 4000, new.pk: 2500, late.pk: 600}
    assert [(c.creator_name, c.views_gained, c.rank) for c in result.creators] == [("alice", 4000, 1), ("bob", 3100, 2)]
    assert result.total_views_gained == 7100


def test_counting_window_stops_the_count(board):
    alice, bob, old, new, late = board
    old.counting_ends_at = at(1)  # the window closed on day 1 of the week, before any growth was seen
    with guild_scope(old.guild_id):
        old.save()
    gains = {p.post_id: p.views_gained for p in scoped_board(old.guild_id).posts}
    assert gains[old.pk] == 0


def test_rejected_posts_do_not_count(board):
    alice, bob, old, new, late = board
    old.status = "rejected"
    with guild_scope(old.guild_id):
        old.save()
    result = scoped_board(old.guild_id)
    assert [c.creator_name for c in result.creators] == ["bob"]


def test_another_guilds_posts_never_appear(board, other_guild):
    post = make_post(other_guild)
    make_snapshot(post, views=99_999, at=at(3))
    alice, bob, old, new, late = board
    assert post.pk not in {p.post_id for p in scoped_board(old.guild_id).posts}


def test_period_bounds_follow_the_guild_time_zone():
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/New_York")
    now = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # Wednesday 22:00 in New York (Tuesday local? no: Wed 22:00 Tue)
    start, end = period_bounds(period="week", now=now, tz=tz)
    assert start.isoformat() == "2026-11-16T00:00:00-05:00" and end == now
    y0, y1 = period_bounds(period="yesterday", now=now, tz=tz)
    assert (y0.day, y1.day) == (17, 18)
