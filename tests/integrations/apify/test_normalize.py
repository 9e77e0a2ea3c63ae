"""Dataset items from the real Apify samples become our MetricsItem / ProfileItem."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from integrations.apify.normalize import normalize_item, normalize_profile
from tests.integrations.apify.fixtures import load
from tracking.platforms.items import MetricsItem, parse_count, parse_posted_at


def _flatten(item: dict, prefix: str = "") -> dict:
    """Dot-flatten nested objects the way flattened Apify dataset exports do."""
    flat: dict = {}
    for key, value in item.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# ------------------------------------------------------------------------------------------------ TikTok


def test_tiktok_item_gives_views_likes_comments_shares_saves():
    item = normalize_item(platform="tiktok", item=load("tiktok_item"))

    assert item.ok
    assert item.external_id == "7623046776752295175"
    assert item.url == "https://www.tiktok.com/@ohmyshop.store/video/7623046776752295175"
    assert (item.views, item.likes, item.comments, item.shares, item.saves) == (165, 4, 0, 0, 0)
    assert item.views_source == "playCount"
    assert item.author_id == "6824909367272768518"
    assert item.author_handle == "ohmyshop.store"
    assert item.posted_at == datetime(2026, 3, 30, 13, 54, 52, tzinfo=UTC)
    assert item.caption.startswith("Basta de abrir el baúl")
    assert item.rounded is False
    assert item.unavailable is False


def test_tiktok_dot_flattened_item_reads_like_the_nested_one():
    nested = normalize_item(platform="tiktok", item=load("tiktok_item"))
    flat_source = _flatten(load("tiktok_item"))
    assert "authorMeta.name" in flat_source and "authorMeta" not in flat_source

    assert normalize_item(platform="tiktok", item=flat_source) == nested


def test_tiktok_submitted_url_is_kept_for_matching():
    raw = load("tiktok_item") | {"submittedVideoUrl": "https://vm.tiktok.com/ZMabc123/"}

    assert normalize_item(platform="tiktok", item=raw).input_url == "https://vm.tiktok.com/ZMabc123/"


def test_tiktok_epoch_create_time_is_used_when_iso_is_missing():
    raw = load("tiktok_item")
    del raw["createTimeISO"]

    assert normalize_item(platform="tiktok", item=raw).posted_at == datetime(2026, 3, 30, 13, 54, 52, tzinfo=UTC)


def test_tiktok_error_row_without_id_is_unavailable_and_matchable_by_submitted_url():
    raw = {"submittedVideoUrl": "https://www.tiktok.com/@a/video/1", "error": "Video not found or private"}

    item = normalize_item(platform="tiktok", item=raw)

    assert not item.ok
    assert item.external_id is None
    assert item.unavailable is True
    assert item.error == "Video not found or private"
    assert item.input_url == "https://www.tiktok.com/@a/video/1"
    assert item.views is None


# ------------------------------------------------------------------------------------------------ Instagram


def test_instagram_video_uses_plays_and_says_so():
    item = normalize_item(platform="instagram", item=load("instagram_item"))

    assert item.external_id == "DSGhrgIDmkP"  # the shortcode our URLs carry, not the numeric id
    assert item.views == 2542022
    assert item.views_source == "videoPlayCount"
    assert item.comments == 63
    assert item.shares is None and item.saves is None
    assert item.author_handle == "kylan_darnell"
    assert item.author_id == "417504118"
    assert item.posted_at == datetime(2025, 12, 10, 23, 51, 23, tzinfo=UTC)
    assert item.input_url == "https://www.instagram.com/wendys/"


def test_instagram_hidden_likes_are_unknown_not_minus_one():
    item = normalize_item(platform="instagram", item=load("instagram_item"))

    assert item.likes is None
    assert item.likes_hidden is True


def test_instagram_reel_item():
    item = normalize_item(platform="instagram", item=load("instagram_reel_item"))

    assert item.external_id == "DTA4-URETWb"
    assert (item.views, item.likes, item.comments) == (245464, 18974, 548)
    assert item.likes_hidden is False
    assert item.views_source == "videoPlayCount"
    assert item.author_handle == "nogood.io"


def test_instagram_without_plays_falls_back_to_video_views():
    # Items of the profile scraper's latestPosts carry only videoViewCount.
    raw = load("instagram_profile_item")["latestPosts"][0]

    item = normalize_item(platform="instagram", item=raw)

    assert (item.views, item.views_source) == (4443, "videoViewCount")
    assert item.likes == 182


def test_instagram_image_post_has_no_views():
    raw = load("instagram_item")
    for key in ("videoPlayCount", "videoViewCount"):
        del raw[key]

    item = normalize_item(platform="instagram", item=raw)

    assert item.ok
    assert item.views is None and item.views_source is None


def test_instagram_shortcode_is_taken_from_the_url_when_absent():
    raw = load("instagram_reel_item")
    del raw["shortCode"]

    assert normalize_item(platform="instagram", item=raw).external_id == "DTA4-URETWb"


def test_instagram_error_row_is_unavailable():
    raw = {
        "url": "https://www.instagram.com/p/GONE123/",
        "error": "not_found",
        "errorDescription": "Post does not exist",
    }

    item = normalize_item(platform="instagram", item=raw)

    assert item.error == "not_found: Post does not exist"
    assert item.unavailable is True
    assert item.input_url == "https://www.instagram.com/p/GONE123/"


# ------------------------------------------------------------------------------------------------ X


def test_x_tweet_numbers_and_twitter_date():
    item = normalize_item(platform="x", item=load("x_tweet_item"))

    assert item.external_id == "1840503004857774267"  # the tweet, not the quoted one
    assert item.url == "https://x.com/PavlovicArc/status/1840503004857774267"
    assert (item.views, item.likes, item.comments, item.shares, item.saves) == (444, 24, 6, 6, 0)
    assert item.views_source == "viewCount"
    assert item.author_handle == "PavlovicArc"
    assert item.author_id == "1602767567864713218"
    assert item.posted_at == datetime(2024, 9, 29, 21, 24, 45, tzinfo=UTC)


def test_x_no_results_row_is_an_error_not_a_post():
    item = normalize_item(platform="x", item={"noResults": True})

    assert item.error == "no results"
    assert item.external_id is None


# ------------------------------------------------------------------------------------------------ Facebook


def test_facebook_post_without_comments_key_has_unknown_comments():
    item = normalize_item(platform="facebook", item=load("facebook_post_item"))

    assert item.external_id == "955713720579845"
    assert (item.likes, item.shares, item.comments, item.views) == (0, 0, None, None)
    assert item.author_id == "100084236786813"
    assert item.author_handle is None  # pageName "p" is an artifact of the /p/<Name-id>/ URL
    assert item.posted_at == datetime(2026, 4, 15, 16, 5, 55, tzinfo=UTC)
    assert item.input_url == "https://www.facebook.com/p/The-Label-Jenn-100084236786813/"
    assert item.url == "https://www.facebook.com/100084236786813/posts/954933103991240"  # topLevelUrl: canonical
    assert item.alt_url.startswith("https://www.facebook.com/permalink.php?story_fbid=pfbid02DQ8")
    assert item.aliases == ("954933103991240",)  # another id than postId


def test_facebook_display_strings_are_parsed_and_abbreviations_marked_rounded():
    raw = load("facebook_post_item") | {"likes": "1.2K", "shares": "3,456", "comments": 17, "viewsCount": "2.5M"}

    item = normalize_item(platform="facebook", item=raw)

    assert (item.likes, item.shares, item.comments, item.views) == (1200, 3456, 17, 2_500_000)
    assert item.views_source == "viewsCount"
    assert item.rounded is True


def test_exact_string_counts_are_not_marked_rounded():
    raw = load("facebook_post_item") | {"likes": "3,456", "shares": "12"}

    item = normalize_item(platform="facebook", item=raw)

    assert (item.likes, item.shares, item.rounded) == (3456, 12, False)


# ------------------------------------------------------------------------------------------------ robustness


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "text",
        {},
        {"id": {"weird": True}},
        {"id": "1", "playCount": "lots", "diggCount": -5, "createTime": "yesterday", "authorMeta": "x"},
        {"id": "1", "playCount": float("inf"), "createTime": 10**30},
        {"error": {"code": 500}},
    ],
)
@pytest.mark.parametrize("platform", ["tiktok", "instagram", "x", "facebook"])
def test_a_bad_item_never_raises(platform, raw):
    item = normalize_item(platform=platform, item=raw)

    assert isinstance(item, MetricsItem)
    assert item.platform == platform


def test_an_item_without_id_is_an_error_item():
    raw = load("x_tweet_item")
    del raw["id"]

    item = normalize_item(platform="x", item=raw)

    assert item.error == "item has no post id"
    assert item.unavailable is False


def test_unusable_counts_become_none_not_zero():
    raw = load("tiktok_item") | {"playCount": "n/a", "diggCount": -1, "shareCount": True}

    item = normalize_item(platform="tiktok", item=raw)

    assert (item.views, item.likes, item.shares, item.views_source) == (None, None, None, None)


def test_youtube_is_not_an_apify_platform():
    assert normalize_item(platform="youtube", item={"id": "abc"}).error == "no Apify normalizer for youtube"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, (12, False)),
        (12.0, (12, False)),
        ("3,456", (3456, False)),
        ("1 234", (1234, False)),
        ("1.2K", (1200, True)),
        ("1.2k", (1200, True)),
        ("1,2K", (1200, True)),
        ("3M", (3_000_000, True)),
        ("1.25M", (1_250_000, True)),
        ("2B", (2_000_000_000, True)),
        ("", (None, False)),
        ("-3", (None, False)),
        (-1, (None, False)),
        (True, (None, False)),
        (math.nan, (None, False)),
        ("12 views", (None, False)),
        (None, (None, False)),
    ],
)
def test_parse_count(value, expected):
    assert parse_count(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2024-09-29T21:24:45.000Z",
        "2024-09-29T21:24:45",
        "Sun Sep 29 21:24:45 +0000 2024",
        1727645085,
        1727645085000,
        "1727645085",
    ],
)
def test_posted_at_formats_give_the_same_aware_time(value):
    assert parse_posted_at(value) == datetime(2024, 9, 29, 21, 24, 45, tzinfo=UTC)


def test_twitter_time_keeps_its_offset():
    parsed = parse_posted_at("Sun Sep 29 23:24:45 +0200 2024")

    assert parsed == datetime(2024, 9, 29, 21, 24, 45, tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ profiles


def test_instagram_profile_bio():
    profile = normalize_profile(platform="instagram", item=load("instagram_profile_item"))

    assert profile.ok
    assert (profile.platform_user_id, profile.handle) == ("77819791713", "frcsurat")
    assert profile.bio.startswith("Surat 🇮🇳 chapter of @foundersrc\n")


def test_x_profile_bio():
    profile = normalize_profile(platform="x", item=load("x_user_item"))

    assert (profile.platform_user_id, profile.handle) == ("1602767567864713218", "PavlovicArc")
    assert profile.bio == "@leroyloverboi 🕊️🕊️ | Backup: @Joy_Boey"


@pytest.mark.parametrize("flatten", [False, True])
def test_tiktok_profile_comes_from_a_video_author(flatten):
    raw = load("tiktok_item")

    profile = normalize_profile(platform="tiktok", item=_flatten(raw) if flatten else raw)

    assert (profile.platform_user_id, profile.handle) == ("6824909367272768518", "ohmyshop.store")
    assert profile.bio == "Tienda on line- 🇦🇷\nEstamos en Juan B Justo 5038\n www.ohmyshop.com.ar"


def test_profile_without_bio_has_empty_bio_not_an_error():
    raw = load("instagram_profile_item") | {"biography": ""}

    profile = normalize_profile(platform="instagram", item=raw)

    assert profile.ok and profile.bio == ""


def test_profile_error_row():
    raw = {"inputUrl": "https://www.instagram.com/nobody/", "error": "not_found", "errorDescription": "Page not found"}

    profile = normalize_profile(platform="instagram", item=raw)

    assert profile.error == "not_found: Page not found"
    assert profile.handle is None


@pytest.mark.parametrize("platform", ["facebook", "youtube"])
def test_profile_of_unsupported_platform_is_an_error(platform):
    assert normalize_profile(platform=platform, item={"id": "1"}).error == f"no profile normalizer for {platform}"
