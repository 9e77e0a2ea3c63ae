"""refresh_youtube: 50 ids per call, a unit debited before each, quota and key errors, missing ids."""

from __future__ import annotations

import pytest
from django.utils import timezone
from googleapiclient.http import HttpMockSequence

from guilds.models import GuildApiUsage, GuildBudgetConfig, GuildNotification
from integrations.youtube.client import YouTubeClient, next_quota_reset
from metrics.collection import refresh_youtube
from metrics.models import VideoMetrics
from tests.factories import make_profile
from tests.helpers.apify import make_posts
from tests.integrations.youtube.helpers import API_KEY, fixture_bytes, query, videos_list_body
from tracking.models import Post

pytestmark = pytest.mark.django_db


def youtube_posts(guild, n):
    profile = make_profile(guild, platform="youtube")
    posts = make_posts(guild, n, platform="youtube", profile=profile)
    with_ids = []
    from core.tenancy import rls_bypass

    with rls_bypass(reason="test setup"):
        for i, post in enumerate(posts):
            post.external_id = f"vid{i:08d}"
            with_ids.append(post)
        Post.objects.bulk_update(with_ids, ["external_id"])
    return with_ids


def client_for(responses):
    http = HttpMockSequence(responses)
    return YouTubeClient(api_key=API_KEY, http=http), http


def ok(ids):
    return ({"status": "200"}, videos_list_body(ids))


def test_120_ids_cost_3_calls_and_3_units(guild, bypass):
    posts = youtube_posts(guild, 120)
    ids = [p.external_id for p in posts]
    client, http = client_for([ok(ids[:50]), ok(ids[50:100]), ok(ids[100:])])
    result = refresh_youtube(guild_id=guild.id, post_ids=[p.pk for p in posts], client=client)
    assert (result.calls, result.refreshed, result.unavailable, result.stopped) == (3, 120, 0, "")
    with bypass():
        assert GuildApiUsage.objects.get(guild=guild).youtube_quota_used == 3
        assert VideoMetrics.objects.filter(provider="youtube").count() == 120
        snap = VideoMetrics.objects.filter(provider="youtube").first()
        assert snap.source_field == "statistics.viewCount" and snap.views is not None


def test_ids_youtube_does_not_return_make_their_posts_unavailable(guild, bypass):
    posts = youtube_posts(guild, 3)
    client, _ = client_for([ok([posts[0].external_id])])
    result = refresh_youtube(guild_id=guild.id, post_ids=[p.pk for p in posts], client=client)
    assert (result.refreshed, result.unavailable) == (1, 2)
    with bypass():
        statuses = dict(Post.objects.filter(pk__in=[p.pk for p in posts]).values_list("pk", "status"))
    assert [statuses[p.pk] for p in posts] == ["tracking", "unavailable", "unavailable"]


def test_quota_exceeded_pauses_the_guild_until_the_pacific_reset(guild, bypass):
    posts = youtube_posts(guild, 60)
    now = timezone.now()
    client, _ = client_for([({"status": "403"}, fixture_bytes("youtube_quota_error.json"))])
    result = refresh_youtube(guild_id=guild.id, post_ids=[p.pk for p in posts], now=now, client=client)
    assert (result.calls, result.stopped, result.paused_until) == (1, "quota", next_quota_reset(now))
    with bypass():
        assert GuildBudgetConfig.objects.get(guild=guild).youtube_paused_until == next_quota_reset(now)
        assert GuildNotification.objects.filter(guild=guild, kind="budget").count() == 1
    again = refresh_youtube(guild_id=guild.id, post_ids=[p.pk for p in posts], now=now, client=client)
    assert (again.calls, again.stopped) == (0, "paused")


def test_an_invalid_key_stops_and_alerts_once(guild, bypass):
    posts = youtube_posts(guild, 2)
    body = fixture_bytes("youtube_key_invalid_error.json")
    client, _ = client_for([({"status": "400"}, body), ({"status": "400"}, body)])
    for _ in range(2):
        result = refresh_youtube(guild_id=guild.id, post_ids=[p.pk for p in posts], client=client)
        assert result.stopped == "key"
    with bypass():
        assert GuildNotification.objects.filter(guild=guild, kind="alert").count() == 1


def test_a_spent_budget_makes_no_call(guild, bypass):
    posts = youtube_posts(guild, 2)
    with bypass():
        GuildBudgetConfig.objects.filter(guild=guild).update(daily_youtube_quota_units=0)
    client, http = client_for([])
    result = refresh_youtube(guild_id=guild.id, post_ids=[p.pk for p in posts], client=client)
    assert (result.calls, result.stopped) == (0, "budget")


def test_the_request_asks_for_the_posts_ids(guild):
    posts = youtube_posts(guild, 2)
    seen = []

    class Recording(HttpMockSequence):
        def request(self, uri, *args, **kwargs):
            seen.append(query(uri))
            return super().request(uri, *args, **kwargs)

    http = Recording([ok([p.external_id for p in posts])])
    refresh_youtube(guild_id=guild.id, post_ids=[p.pk for p in posts], client=YouTubeClient(api_key=API_KEY, http=http))
    assert seen[0]["id"] == ",".join(p.external_id for p in posts)
