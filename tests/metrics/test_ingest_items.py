"""metrics.ingestion.ingest_items: snapshots, latest numbers, statuses, signals — in constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from guilds.models import CreatorMessage, GuildNotification
from integrations.apify.normalize import MetricsItem, normalize_item
from metrics.ingestion import ingest_items
from metrics.models import VideoMetrics
from tests.factories import make_post, make_profile
from tests.helpers.apify import make_posts, tiktok_item
from tracking.models import FraudSignal, Post, PostStatusChange

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(hours=5)


def items_for(posts, **kw):
    return [normalize_item(platform="tiktok", item=tiktok_item(p, **kw)) for p in posts]


def ingest(guild, items, at=T0, **kw):
    return ingest_items(
        guild_id=guild.id,
        platform="tiktok",
        items=items,
        captured_at=at,
        provider="apify",
        run_id=kw.pop("run_id", "run0001"),
        **kw,
    )


def reload(post, bypass):
    with bypass():
        return Post.objects.select_related("profile").get(pk=post.pk)


def test_items_become_snapshots_with_provenance_and_latest_numbers(guild, bypass):
    post = make_post(guild, status=Post.Status.SUBMITTED)
    result = ingest(guild, items_for([post], views="1.2K", likes=100))
    assert (result.inserted, result.updated, result.unmatched, result.errors) == (1, 0, 0, 0)
    with bypass():
        snap = VideoMetrics.objects.get(post=post)
    assert (snap.views, snap.likes, snap.provider, snap.apify_run_id) == (1200, 100, "apify", "run0001")
    assert snap.source_field == "playCount" and snap.rounded is True and snap.captured_at == T0
    post = reload(post, bypass)
    assert (post.views, post.likes, post.metrics_updated_at) == (1200, 100, T0)
    assert post.status == Post.Status.TRACKING and post.next_refresh_at is not None
    with bypass():
        assert PostStatusChange.objects.filter(post=post, to_status="tracking").count() == 1


def test_processing_the_same_dataset_twice_changes_and_duplicates_nothing(guild, bypass):
    posts = make_posts(guild, 3)
    ingest(guild, items_for(posts, views=5000))
    before = [reload(p, bypass) for p in posts]
    again = ingest(guild, items_for(posts, views=5000))
    assert (again.inserted, again.updated) == (0, 3)
    with bypass():
        assert VideoMetrics.objects.filter(post__in=posts).count() == 3
        assert FraudSignal.objects.filter(post__in=posts).count() == 0
    after = [reload(p, bypass) for p in posts]
    assert [(p.views, p.metrics_updated_at, p.growth_per_hour, p.status) for p in after] == [
        (p.views, p.metrics_updated_at, p.growth_per_hour, p.status) for p in before
    ]


def test_the_same_point_with_new_numbers_leaves_the_post_equal_to_its_newest_snapshot(guild, bypass):
    """A dataset of the same moment processed again with corrected numbers overwrites that snapshot;
    the post's own numbers (what the posts list shows and the leaderboard reads for "now") follow it,
    and nothing is flagged or moved again. An older point changes the snapshot only."""
    (post,) = make_posts(guild, 1)
    ingest(guild, items_for([post], views=1000, likes=10))
    ingest(guild, items_for([post], views=1300, likes=13))
    later = T0 + timedelta(hours=1)
    ingest(guild, items_for([post], views=2000, likes=20), at=later)
    ingest(guild, items_for([post], views=2600, likes=26), at=later)
    ingest(guild, items_for([post], views=1, likes=1))  # the older point again: the post stays
    with bypass():
        snapshots = list(VideoMetrics.objects.filter(post=post).order_by("captured_at").values_list("views", "likes"))
        assert FraudSignal.objects.filter(post=post).count() == 0
    assert snapshots == [(1, 1), (2600, 26)]
    post = reload(post, bypass)
    assert (post.views, post.likes, post.metrics_updated_at) == (2600, 26, later)


def test_growth_per_hour_is_views_gained_since_the_previous_point(guild, bypass):
    (post,) = make_posts(guild, 1)
    ingest(guild, items_for([post], views=1000, likes=100))
    ingest(guild, items_for([post], views=3000, likes=300), at=T0 + timedelta(hours=2))
    assert reload(post, bypass).growth_per_hour == pytest.approx(1000.0)


@pytest.mark.parametrize("n", [10, 500])
def test_a_dataset_costs_a_constant_number_of_queries(guild, django_assert_max_num_queries, n):
    posts = make_posts(guild, n, status=Post.Status.SUBMITTED)
    items = items_for(posts) + [MetricsItem(platform="tiktok", external_id="1", views=5)]
    with django_assert_max_num_queries(14):
        result = ingest(guild, items)
    assert (result.inserted, result.unmatched) == (n, 1)


def test_unmatched_and_error_rows_are_counted_and_errors_count_on_their_post(guild, bypass):
    (post,) = make_posts(guild, 1)
    error_row = normalize_item(platform="tiktok", item={"error": "Timed out", "url": post.submitted_url})
    stranger = MetricsItem(platform="tiktok", external_id="999", views=1)
    result = ingest(guild, [error_row, stranger])
    assert (result.inserted, result.unmatched, result.errors) == (0, 1, 1)
    post = reload(post, bypass)
    assert post.failure_count == 1 and post.last_failure_reason == "Timed out"


def test_another_guilds_post_is_never_matched(guild, other_guild, bypass):
    (theirs,) = make_posts(other_guild, 1)
    result = ingest(guild, items_for([theirs]))
    assert result.unmatched == 1
    with bypass():
        assert not VideoMetrics.objects.filter(post=theirs).exists()


def test_a_deleted_post_becomes_unavailable_and_comes_back(guild, bypass):
    (post,) = make_posts(guild, 1)
    gone = normalize_item(platform="tiktok", item={"error": "Post not found or private", "url": post.submitted_url})
    ingest(guild, [gone])
    post = reload(post, bypass)
    assert post.status == Post.Status.UNAVAILABLE and "gone or private" in post.status_reason
    with bypass():
        assert FraudSignal.objects.filter(post=post, kind="unavailable").count() == 1
        assert GuildNotification.objects.filter(guild=guild, kind="unavailable").count() == 1
    ingest(guild, items_for([post]), at=T0 + timedelta(hours=1))
    assert reload(post, bypass).status == Post.Status.TRACKING


def test_views_spike_without_engagement_flags_the_post_once(guild, bypass):
    (post,) = make_posts(guild, 1)
    ingest(guild, items_for([post], views=1_000, likes=100, comments=10))
    ingest(guild, items_for([post], views=200_000, likes=110, comments=10), at=T0 + timedelta(hours=1))
    ingest(guild, items_for([post], views=400_000, likes=115, comments=10), at=T0 + timedelta(hours=2))
    post = reload(post, bypass)
    assert post.status == Post.Status.FLAGGED
    assert post.status_reason.startswith("+199,000 views with only +10 likes and comments")
    with bypass():
        assert FraudSignal.objects.filter(post=post, kind="spike").count() == 1
        assert GuildNotification.objects.filter(guild=guild, kind="flagged").count() == 1
        told = CreatorMessage.objects.get(guild=guild)  # the creator hears it privately, once
    assert (told.kind, told.creator_id, told.status) == ("flagged", post.creator_id, "pending")
    assert "Reason: +199,000 views with only +10 likes and comments" in told.body and post.canonical_url in told.body
    ingest(guild, items_for([post], views=400_000, likes=115, comments=10), at=T0 + timedelta(hours=2))  # again
    with bypass():
        assert CreatorMessage.objects.filter(guild=guild).count() == 1


def test_organic_growth_is_not_a_spike(guild, bypass):
    (post,) = make_posts(guild, 1)
    ingest(guild, items_for([post], views=1_000, likes=100))
    ingest(guild, items_for([post], views=200_000, likes=9_000), at=T0 + timedelta(hours=1))
    assert reload(post, bypass).status == Post.Status.TRACKING


def test_a_count_going_down_beyond_rounding_is_flagged(guild, bypass):
    (post,) = make_posts(guild, 1)
    ingest(guild, items_for([post], views=50_000, likes=2_000))
    ingest(guild, items_for([post], views=30_000, likes=1_990), at=T0 + timedelta(hours=1))
    post = reload(post, bypass)
    assert post.status == Post.Status.FLAGGED and "views 50,000 → 30,000" in post.status_reason


def test_a_rounded_dip_is_not_a_decrease(guild, bypass):
    (post,) = make_posts(guild, 1)
    ingest(guild, items_for([post], views=12_490, likes=100))
    ingest(guild, items_for([post], views="12K", likes=100), at=T0 + timedelta(hours=1))
    assert reload(post, bypass).status == Post.Status.TRACKING


def test_an_author_other_than_the_linked_profile_flags_the_post(guild, bypass):
    profile = make_profile(guild, handle="maya")
    post = make_post(guild, profile=profile, status=Post.Status.SUBMITTED)
    ingest(guild, items_for([post], author="someone.else"))
    post = reload(post, bypass)
    assert post.status == Post.Status.FLAGGED
    assert post.status_reason == "Author @someone.else is not the linked profile @maya"
    with bypass():
        assert FraudSignal.objects.filter(post=post, kind="ownership").count() == 1


def test_a_short_link_is_resolved_by_its_first_scrape(guild, bypass):
    short = "https://vm.tiktok.com/ZMabc123/"
    post = make_post(
        guild,
        external_id=None,
        needs_resolution=True,
        submitted_url=short,
        canonical_url=short,
        status=Post.Status.SUBMITTED,
    )
    raw = tiktok_item(post)
    raw.update(id="7623046776752295175", webVideoUrl="https://www.tiktok.com/@x/video/7623046776752295175")
    result = ingest(guild, [normalize_item(platform="tiktok", item=raw)])
    assert result.inserted == 1
    post = reload(post, bypass)
    assert post.external_id == "7623046776752295175" and post.needs_resolution is False
    assert post.canonical_url.endswith("/video/7623046776752295175")


def test_a_short_link_to_an_already_tracked_post_is_flagged_as_duplicate(guild, bypass):
    (tracked,) = make_posts(guild, 1)
    short = "https://vm.tiktok.com/ZMdup/"
    dup = make_post(
        guild,
        external_id=None,
        needs_resolution=True,
        submitted_url=short,
        canonical_url=short,
        status=Post.Status.SUBMITTED,
    )
    raw = tiktok_item(tracked)
    raw["submittedVideoUrl"] = short
    result = ingest(guild, [normalize_item(platform="tiktok", item=raw)])
    assert result.inserted == 1  # the tracked post got it
    dup = reload(dup, bypass)
    assert dup.status == Post.Status.FLAGGED and f"Duplicate of post #{tracked.pk}" in dup.status_reason
    assert dup.external_id is None
