"""The leaderboard answers one page at a time (API, bot API, dashboard): the top creators and posts,
with totals for the whole guild, never the whole guild in one body; the CSV exports stream every row."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from tests.factories import make_gains
from tests.helpers.api import BOT_KEY, admin_client, api_settings, key_client  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

GAINS = (300, 1200, 50, 900, 700)  # one creator (one post) each: ranks 1200, 900, 700, 300, 50


@pytest.fixture
def five_creators(guild):
    make_gains(guild, [[g] for g in GAINS], username="creator{}")


def test_api_pages_through_creators_and_posts_with_totals(admin_client, guild, five_creators):  # noqa: F811
    url = f"/api/v1/guilds/{guild.pk}/leaderboard"
    first = admin_client.get(url, {"period": "week", "page_size": 2}).json()
    assert (first["page"], first["page_size"], first["creators_count"], first["posts_count"]) == (1, 2, 5, 5)
    assert first["total_views_gained"] == sum(GAINS)
    assert [(c["rank"], c["views_gained"]) for c in first["creators"]] == [(1, 1200), (2, 900)]
    assert [p["views_gained"] for p in first["posts"]] == [1200, 900]
    last = admin_client.get(url, {"period": "week", "page_size": 2, "page": 3}).json()
    assert [(c["rank"], c["views_gained"]) for c in last["creators"]] == [(5, 50)]
    beyond = admin_client.get(url, {"period": "week", "page_size": 2, "page": 4}).json()
    assert beyond["creators"] == [] and beyond["posts"] == [] and beyond["creators_count"] == 5


def test_api_defaults_to_fifty_and_refuses_bigger_pages(admin_client, guild, five_creators):  # noqa: F811
    url = f"/api/v1/guilds/{guild.pk}/leaderboard"
    default = admin_client.get(url, {"period": "week"}).json()
    assert default["page_size"] == 50 and len(default["creators"]) == 5
    too_big = admin_client.get(url, {"period": "week", "page_size": 201})
    assert too_big.status_code == 400
    assert too_big.json()["error"]["fields"] == {"page_size": ["Ensure this value is less than or equal to 200."]}
    assert admin_client.get(url, {"page": 0}).json()["error"]["fields"] == {
        "page": ["Ensure this value is greater than or equal to 1."]
    }


def test_bot_leaderboard_is_paged_too(guild, five_creators):
    body = key_client(BOT_KEY).get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard", {"period": "week", "page_size": 1})
    assert body.status_code == 200
    data = body.json()
    assert [c["creator_name"] for c in data["creators"]] == ["creator1"] and data["creators_count"] == 5


def test_csv_export_streams_every_creator(admin_client, guild, five_creators):  # noqa: F811
    response = admin_client.get(f"/api/v1/guilds/{guild.pk}/exports/leaderboard.csv", {"period": "week"})
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["views_gained"]) for r in rows] == sorted(GAINS, reverse=True)


def test_a_page_is_the_slice_of_the_whole_leaderboard_ties_and_all(guild):
    """leaderboard_page (summed and sorted in SQL) gives exactly the slices of leaderboard() (built in
    Python): ranks, ties broken by the lower id, posts that gained nothing, counts and total."""
    from core.tenancy import guild_scope
    from metrics.periods import period_bounds
    from metrics.selectors import leaderboard, leaderboard_page

    now = timezone.now()
    make_gains(guild, [[500, 0], [500], [200, 300], [0], [250, 250, 0], [40]], now=now)  # ties: creators, posts
    start, end = period_bounds(period="week", now=now, tz=guild.tz)
    with guild_scope(guild.pk):
        board = leaderboard(guild=guild.pk, start=start, end=end)
        assert [c.views_gained for c in board.creators] == [500, 500, 500, 500, 40, 0]
        for size in (1, 2, 3, 4):
            for page in range(1, 10 // size + 3):
                got = leaderboard_page(guild=guild.pk, start=start, end=end, page=page, page_size=size)
                first = (page - 1) * size
                assert got.creators == board.creators[first : first + size], (size, page)
                assert got.posts == board.posts[first : first + size], (size, page)
                assert (got.creators_count, got.posts_count, got.total_views_gained) == (6, 10, 2040)
                apart = leaderboard_page(  # the dashboard's: its own page and size of posts
                    guild=guild.pk, start=start, end=end, page=page, page_size=size, posts_page=2, posts_page_size=3
                )
                assert (apart.creators, apart.posts) == (got.creators, board.posts[3:6]), (size, page)
