"""The dashboard's leaderboard page shows one page of creators (best first) with the guild's totals,
and its CSV streams every creator."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard import views
from tests.factories import make_creator, make_post, make_profile, make_snapshot

pytestmark = pytest.mark.django_db


def test_leaderboard_page_is_paginated(admin_client, guild, monkeypatch):
    monkeypatch.setattr(views, "LEADERBOARD_PER_PAGE", 2)
    now = timezone.now()
    for i, gained in enumerate((100, 400, 300)):
        creator = make_creator(guild, username=f"clipper{i}")
        post = make_post(
            guild,
            make_profile(guild, creator),
            posted_at=now - timedelta(days=20),
            submitted_at=now - timedelta(days=20),
            metrics_updated_at=now - timedelta(minutes=1),
        )
        make_snapshot(post, views=10, at=now - timedelta(days=15))  # before any week: the baseline
        make_snapshot(post, views=10 + gained, at=now - timedelta(minutes=2))
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
