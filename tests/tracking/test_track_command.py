"""`manage.py track --once` on the embedded default, with Apify and YouTube faked at the transport."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from googleapiclient.http import HttpMock

from integrations.models import ApifyRunRegistry
from integrations.youtube.client import YouTubeClient
from tests.factories import make_post, make_profile
from tests.integrations.youtube.helpers import FIXTURES
from tracking.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendors(settings, apify_server, monkeypatch):
    settings.APIFY_API_TOKEN = "apify_api_test_token_0123456789"
    settings.APIFY_API_BASE_URL = apify_server.base_url
    settings.APIFY_WEBHOOK_SIGNING_SECRET = "s" * 40
    settings.YOUTUBE_API_KEY = "AIzaSyTESTKEY-do-not-leak-0123456789"
    settings.SCHEDULER_BUDGET_RESERVE_SHARE = 0
    http = HttpMock(str(FIXTURES / "youtube_videos_list.json"), {"status": "200"})
    monkeypatch.setattr(
        "metrics.collection.youtube_client",
        lambda **kw: YouTubeClient(api_key=settings.YOUTUBE_API_KEY, http=http),
    )
    return apify_server


def test_track_once_refreshes_the_due_posts(guild, vendors, bypass):
    now = timezone.now()
    due = {
        "next_refresh_at": now - timedelta(hours=2),
        "metrics_updated_at": now - timedelta(hours=3),
        "views": 1000,
        "growth_per_hour": 20,
    }
    tiktok = [make_post(guild, **due) for _ in range(3)]
    youtube = make_post(guild, profile=make_profile(guild, platform="youtube"), external_id="8HFBY9cudgM", **due)
    call_command("track", "--once")
    with bypass():
        run = ApifyRunRegistry.objects.get(guild=guild, purpose="metrics")
        refreshed = Post.objects.get(pk=youtube.pk)
    assert run.status == "initiated" and run.platform == "tiktok" and run.apify_run_id
    assert sorted(run.post_ids) == sorted(p.pk for p in tiktok)
    assert len(vendors.started_runs) == 1
    assert refreshed.metrics_updated_at > youtube.metrics_updated_at and refreshed.views != 1000
