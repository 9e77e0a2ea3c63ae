"""Each post keeps the picture its latest scrape returned, read from the field each real payload
carries (tests/fixtures/: the samples), only when it is an https URL; stored in the ingest's one bulk
update, so a dataset still costs a constant number of queries."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone
from googleapiclient.http import HttpMockSequence

from integrations.apify.normalize import normalize_item
from integrations.youtube.client import YouTubeClient
from metrics.collection import refresh_youtube
from metrics.ingestion import ingest_items
from tests.conftest import load_fixture
from tests.factories import make_post, make_profile
from tests.helpers.apify import make_posts, tiktok_item
from tests.integrations.youtube.helpers import API_KEY, fixture, videos_list_body
from tracking.models import Post
from tracking.platforms.items import MAX_THUMBNAIL_URL_CHARS, thumbnail_url

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(hours=5)

TIKTOK = load_fixture("apify/tiktok_item.json")
INSTAGRAM = load_fixture("apify/instagram_item.json")
REEL = load_fixture("apify/instagram_reel_item.json")
FACEBOOK = load_fixture("apify/facebook_post_item.json")
TWEET = load_fixture("apify/x_tweet_item.json")
YOUTUBE = fixture("youtube_videos_list.json")


def _ingest(guild, platform, raw, at=T0):
    item = normalize_item(platform=platform, item=raw)
    return ingest_items(guild_id=guild.id, platform=platform, items=[item], captured_at=at, provider="apify")


def _post_for(guild, platform, external_id, url) -> Post:
    profile = make_profile(guild, platform=platform)
    return make_post(guild, profile, platform=platform, external_id=external_id, submitted_url=url, canonical_url=url)


def _thumbnail(post, bypass) -> str:
    with bypass():
        return Post.objects.get(pk=post.pk).thumbnail_url


# The field each real payload carries its picture in, and what we read from it.
SAMPLES = [
    ("instagram", INSTAGRAM, INSTAGRAM["shortCode"], INSTAGRAM["url"], INSTAGRAM["displayUrl"]),
    ("instagram", REEL, REEL["shortCode"], REEL["url"], REEL["displayUrl"]),
    ("facebook", FACEBOOK, FACEBOOK["postId"], FACEBOOK["topLevelUrl"], FACEBOOK["media"][1]["thumbnail"]),
    ("x", TWEET, TWEET["id"], TWEET["url"], "https://pbs.twimg.com/media/GYrHulKWsAAgxi8.jpg"),
]


@pytest.mark.parametrize(("platform", "raw", "external_id", "url", "expected"), SAMPLES)
def test_ingestion_stores_the_picture_each_real_payload_carries(
    guild, bypass, platform, raw, external_id, url, expected
):
    post = _post_for(guild, platform, external_id, url)
    result = _ingest(guild, platform, copy.deepcopy(raw))
    assert result.matched_post_ids == {post.pk}
    assert _thumbnail(post, bypass) == expected and expected.startswith("https://")


def test_tiktok_reads_the_video_cover(guild, bypass):
    (post,) = make_posts(guild, 1)
    _ingest(guild, "tiktok", tiktok_item(post))
    assert _thumbnail(post, bypass) == TIKTOK["videoMeta"]["coverUrl"]


def test_youtube_stores_the_medium_thumbnail_of_videos_list(guild, bypass):
    profile = make_profile(guild, platform="youtube")
    video_id = YOUTUBE["items"][0]["id"]
    post = make_post(
        guild,
        profile,
        platform="youtube",
        external_id=video_id,
        submitted_url=f"https://www.youtube.com/watch?v={video_id}",
        canonical_url=f"https://www.youtube.com/watch?v={video_id}",
    )
    client = YouTubeClient(api_key=API_KEY, http=HttpMockSequence([({"status": "200"}, videos_list_body([video_id]))]))
    refresh_youtube(guild_id=guild.id, post_ids=[post.pk], client=client)
    assert _thumbnail(post, bypass) == YOUTUBE["items"][0]["snippet"]["thumbnails"]["medium"]["url"]


def test_a_newer_picture_replaces_the_old_one_and_a_scrape_without_one_keeps_it(guild, bypass):
    (post,) = make_posts(guild, 1)
    first, second = "https://p16-sign.tiktokcdn.com/cover-1.jpeg", "https://p16-sign.tiktokcdn.com/cover-2.jpeg"
    _ingest(guild, "tiktok", tiktok_item(post, videoMeta={"coverUrl": first}))
    assert _thumbnail(post, bypass) == first
    _ingest(guild, "tiktok", tiktok_item(post, videoMeta={"coverUrl": second}), at=T0 + timedelta(hours=1))
    assert _thumbnail(post, bypass) == second
    _ingest(guild, "tiktok", tiktok_item(post, videoMeta={}), at=T0 + timedelta(hours=2))
    assert _thumbnail(post, bypass) == second
    _ingest(guild, "tiktok", tiktok_item(post, videoMeta={"coverUrl": first}), at=T0 - timedelta(hours=1))
    assert _thumbnail(post, bypass) == second  # an older measurement does not bring back an older picture


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(document.cookie)",
        "http://p16-sign.tiktokcdn.com/cover.jpeg",
        "data:image/png;base64,AAAA",
        "//p16-sign.tiktokcdn.com/cover.jpeg",
        'https://cdn.example.com/a.jpg" onerror="alert(1)',
        "https://cdn.example.com/a b.jpg",
        "https:///no-host.jpg",
        "https://cdn.example.com/" + "a" * MAX_THUMBNAIL_URL_CHARS,
        ["https://cdn.example.com/a.jpg"],
        12345,
    ],
)
def test_a_picture_that_is_not_a_plain_https_url_is_ignored(guild, bypass, bad):
    (post,) = make_posts(guild, 1)
    _ingest(guild, "tiktok", tiktok_item(post, videoMeta={"coverUrl": bad}))
    stored = _thumbnail(post, bypass)
    assert stored == ""
    with bypass():
        assert Post.objects.get(pk=post.pk).views == 1000  # the item itself was stored


def test_an_ignored_picture_keeps_the_stored_one(guild, bypass):
    (post,) = make_posts(guild, 1)
    good = "https://p16-sign.tiktokcdn.com/cover.jpeg"
    _ingest(guild, "tiktok", tiktok_item(post, videoMeta={"coverUrl": good}))
    _ingest(guild, "tiktok", tiktok_item(post, videoMeta={"coverUrl": "javascript:x"}), at=T0 + timedelta(hours=1))
    assert _thumbnail(post, bypass) == good


def test_thumbnail_url_keeps_only_https_urls_of_bounded_length():
    assert thumbnail_url("https://i.ytimg.com/vi/8HFBY9cudgM/mqdefault.jpg") == (
        "https://i.ytimg.com/vi/8HFBY9cudgM/mqdefault.jpg"
    )
    assert thumbnail_url("HTTPS://i.ytimg.com/x.jpg") is None
    assert thumbnail_url("https://i.ytimg.com/" + "a" * (MAX_THUMBNAIL_URL_CHARS - 20)) is not None
    assert thumbnail_url(None) is None


def test_pictures_cost_no_query_per_item(guild, bypass, django_assert_max_num_queries):
    posts = make_posts(guild, 300, status=Post.Status.SUBMITTED)
    items = [
        normalize_item(
            platform="tiktok", item=tiktok_item(p, videoMeta={"coverUrl": f"https://cdn.example.com/{p.pk}.jpg"})
        )
        for p in posts
    ]
    with django_assert_max_num_queries(14):
        ingest_items(guild_id=guild.id, platform="tiktok", items=items, captured_at=T0, provider="apify")
    with bypass():
        stored = dict(Post.objects.filter(pk__in=[p.pk for p in posts]).values_list("pk", "thumbnail_url"))
    assert stored == {p.pk: f"https://cdn.example.com/{p.pk}.jpg" for p in posts}
