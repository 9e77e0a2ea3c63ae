"""The dashboard's leaderboard page shows one page of creators (best first) and the top posts with
the guild's totals, read as one page summed and sorted in SQL; its CSV streams every creator."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.tenancy import guild_scope
from dashboard import views
from metrics.periods import period_bounds
from metrics.selectors import leaderboard
from tests.factories import make_gains

pytestmark = pytest.mark.django_db


def test_leaderboard_page_is_paginated(admin_client, guild, monkeypatch):
    monkeypatch.setattr(views, "LEADERBOARD_PER_PAGE", 2)
    make_gains(guild, [[100], [400], [300]], username="clipper{}")
    url = reverse("dashboard:leaderboard", args=[guild.pk])
    first = admin_client.get(url, {"period": "week"})
    html = first.content.decode()
    assert [c.creator_name for c in first.context["page"]] == ["clipper1", "clipper2"]
    table = html[html.index('data-testid="leaderboard-table"') : html.index("</table>")]
    assert "clipper1" in table and "clipper0" not in table  # (it is still among the top posts)
    assert 'rel="next"' in html and "Page 1 of 2" in html
    assert 'data-testid="board-total">800<' in html and 'data-testid="board-creators">3<' in html
    second = admin_client.get(url, {"period": "week", "page": 2})
    assert [(c.rank, c.creator_name) for c in second.context["page"]] == [(3, "clipper0")]
    csv_response = admin_client.get(reverse("dashboard:leaderboard-csv", args=[guild.pk]), {"period": "week"})
    rows = list(csv.DictReader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    assert [r["creator"] for r in rows] == ["clipper1", "clipper2", "clipper0"]


def _week_board(guild):
    with guild_scope(guild.pk):
        start, end = period_bounds(period="week", now=timezone.now(), tz=guild.tz)
        return leaderboard(guild=guild.pk, start=start, end=end)


def test_each_page_shows_the_slices_of_the_whole_leaderboard_ties_and_all(admin_client, guild, monkeypatch):
    """The page reads one SQL page (its creators and its own top posts) and shows exactly what
    slicing every row of leaderboard() showed: ranks, ties (lower id first), totals, page links —
    and a page number out of range or not a number lands where the Paginator always sent it."""
    monkeypatch.setattr(views, "LEADERBOARD_PER_PAGE", 2)
    monkeypatch.setattr(views, "LEADERBOARD_TOP_POSTS", 3)
    make_gains(guild, [[300], [300], [100, 200], [0], [150, 150], [50], [300, 0]])
    board = _week_board(guild)
    assert [c.views_gained for c in board.creators] == [300, 300, 300, 300, 300, 50, 0]
    assert [p.views_gained for p in board.posts[:5]] == [300, 300, 300, 200, 150]
    assert board.total_views_gained == 1550
    url = reverse("dashboard:leaderboard", args=[guild.pk])
    for asked in ("1", "2", "3", "4", "9", "0", "-1", "two", "2.0", None):
        params = {"period": "week"} if asked is None else {"period": "week", "page": asked}
        response = admin_client.get(url, params)
        assert response.status_code == 200, asked
        want = Paginator(board.creators, 2).get_page(asked)  # what the page showed from every row
        shown = response.context["page"]
        assert (shown.number, list(shown)) == (want.number, list(want)), asked
        assert [p for p, _ in response.context["top_posts"]] == board.posts[:3], asked
        html = response.content.decode()
        assert f"Page {want.number} of 4" in html, asked
        assert ('rel="prev"' in html, 'rel="next"' in html) == (want.has_previous(), want.has_next()), asked
        assert 'data-testid="board-total">1,550<' in html and 'data-testid="board-creators">7<' in html, asked
        table = html[html.index('data-testid="leaderboard-table"') : html.index("</table>")]
        for creator in board.creators:
            assert (f">{creator.creator_name}</a>" in table) == (creator in want.object_list), (asked, creator)


def _page_reads(queries) -> int:
    return sum("MATERIALIZED" in q["sql"] for q in queries)


def test_the_page_costs_the_same_queries_whatever_the_guilds_size(admin_client, guild, monkeypatch):
    monkeypatch.setattr(views, "LEADERBOARD_PER_PAGE", 2)
    url = reverse("dashboard:leaderboard", args=[guild.pk])
    now = timezone.now()
    make_gains(guild, [[300], [200, 100], [50]], now=now)
    admin_client.get(url, {"period": "week", "page": 2})  # sessions, caches: warmed
    with CaptureQueriesContext(connection) as small:
        response = admin_client.get(url, {"period": "week", "page": 2})
    assert "Page 2 of 2" in response.content.decode()
    make_gains(guild, [[10 * i, i] for i in range(1, 31)], now=now)
    with CaptureQueriesContext(connection) as large:
        response = admin_client.get(url, {"period": "week", "page": 2})
    assert "Page 2 of 17" in response.content.decode()
    assert len(large.captured_queries) == len(small.captured_queries) <= 12
    assert _page_reads(large.captured_queries) == 1  # the creators, top posts and totals: one statement
    with CaptureQueriesContext(connection) as past_the_end:
        response = admin_client.get(url, {"period": "week", "page": 99})
    assert "Page 17 of 17" in response.content.decode()
    assert _page_reads(past_the_end.captured_queries) == 2  # the page asked, then the last one
