"""The leaderboard answers one page at a time (API, bot API, dashboard): the top creators and posts,
with totals for the whole guild, never the whole guild in one body; the CSV exports stream every row."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_creator, make_post, make_profile, make_snapshot
from tests.helpers.api import BOT_KEY, admin_client, api_settings, key_client  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

GAINS = (300, 1200, 50, 900, 700)  # one creator (one post) each: ranks 1200, 900, 700, 300, 50


@pytest.fixture
def five_creators(guild):
    now = timezone.now()
    for i, gained in enumerate(GAINS):
        creator = make_creator(guild, username=f"creator{i}")
        post = make_post(
            guild,
            make_profile(guild, creator),
            posted_at=now - timedelta(days=20),
            submitted_at=now - timedelta(days=20),
            metrics_updated_at=now - timedelta(minutes=1),
        )
        make_snapshot(post, views=1000, at=now - timedelta(days=15))
        make_snapshot(post, views=1000 + gained, at=now - timedelta(minutes=2))


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
