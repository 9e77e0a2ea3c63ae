"""Which actor runs for what, and the input each default actor gets."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from integrations.apify.actors import (
    ActorIds,
    UnsupportedScrape,
    actor_for,
    build_metrics_input,
    build_profile_input,
    default_actor_ids,
)


@pytest.mark.parametrize(
    ("platform", "purpose", "actor"),
    [
        ("tiktok", "metrics", "clockworks/tiktok-scraper"),
        ("tiktok", "verification", "clockworks/tiktok-scraper"),
        ("instagram", "metrics", "apify/instagram-scraper"),
        ("instagram", "verification", "apify/instagram-scraper"),
        ("x", "metrics", "apidojo/twitter-scraper-lite"),
        ("x", "verification", "apidojo/twitter-user-scraper"),
        ("facebook", "metrics", "apify/facebook-posts-scraper"),
    ],
)
def test_default_actors(platform, purpose, actor):
    assert ActorIds.from_mapping({}).actor_for(platform=platform, purpose=purpose) == actor


def test_configured_actor_overrides_default_and_blank_keeps_it():
    ids = ActorIds.from_mapping({"APIFY_X_ACTOR_ID": "apidojo/tweet-scraper", "APIFY_TIKTOK_ACTOR_ID": "  "})

    assert ids.actor_for(platform="x", purpose="metrics") == "apidojo/tweet-scraper"
    assert ids.actor_for(platform="tiktok", purpose="metrics") == "clockworks/tiktok-scraper"


def test_actor_for_reads_a_settings_object():
    settings = SimpleNamespace(APIFY_INSTAGRAM_PROFILE_ACTOR_ID="apify/instagram-profile-scraper")

    assert (
        actor_for(platform="instagram", purpose="verification", settings_obj=settings)
        == "apify/instagram-profile-scraper"
    )
    assert actor_for(platform="instagram", purpose="metrics", settings_obj=settings) == "apify/instagram-scraper"


@pytest.mark.parametrize(("platform", "purpose"), [("youtube", "metrics"), ("facebook", "verification")])
def test_unsupported_scrapes_say_so(platform, purpose):
    with pytest.raises(UnsupportedScrape):
        ActorIds.from_mapping({}).actor_for(platform=platform, purpose=purpose)


def test_every_setting_has_a_default():
    assert set(default_actor_ids()) == {
        "APIFY_TIKTOK_ACTOR_ID",
        "APIFY_TIKTOK_PROFILE_ACTOR_ID",
        "APIFY_INSTAGRAM_ACTOR_ID",
        "APIFY_INSTAGRAM_PROFILE_ACTOR_ID",
        "APIFY_X_ACTOR_ID",
        "APIFY_X_PROFILE_ACTOR_ID",
        "APIFY_FACEBOOK_ACTOR_ID",
    }


URLS = ["https://example.test/1", "https://example.test/2"]


def test_tiktok_metrics_input_lists_post_urls():
    run_input = build_metrics_input(platform="tiktok", urls=URLS, max_items=2)

    assert run_input["postURLs"] == URLS
    assert run_input["resultsPerPage"] == 1
    assert run_input["shouldDownloadVideos"] is False


def test_instagram_metrics_input_uses_direct_urls_for_posts():
    assert build_metrics_input(platform="instagram", urls=URLS, max_items=2) == {
        "directUrls": URLS,
        "resultsType": "posts",
        "resultsLimit": 1,
        "addParentData": False,
    }


def test_x_metrics_input_caps_the_run_at_one_item_per_url_by_default():
    assert build_metrics_input(platform="x", urls=URLS) == {"startUrls": URLS, "maxItems": 2}


def test_facebook_metrics_input_wraps_urls_as_requests():
    assert build_metrics_input(platform="facebook", urls=URLS, max_items=5) == {
        "startUrls": [{"url": URLS[0]}, {"url": URLS[1]}],
        "resultsLimit": 5,
    }


def test_metrics_input_needs_urls_and_a_supported_platform():
    with pytest.raises(ValueError):
        build_metrics_input(platform="tiktok", urls=[])
    with pytest.raises(UnsupportedScrape):
        build_metrics_input(platform="youtube", urls=URLS)


def test_profile_inputs_strip_the_at_sign():
    assert build_profile_input(platform="tiktok", handle="@ohmyshop.store")["profiles"] == ["ohmyshop.store"]
    assert build_profile_input(platform="instagram", handle="frcsurat") == {
        "directUrls": ["https://www.instagram.com/frcsurat/"],
        "resultsType": "details",
        "resultsLimit": 1,
    }
    assert build_profile_input(platform="x", handle="@PavlovicArc")["twitterHandles"] == ["PavlovicArc"]


def test_profile_input_refuses_facebook_and_empty_handles():
    with pytest.raises(UnsupportedScrape):
        build_profile_input(platform="facebook", handle="page")
    with pytest.raises(ValueError):
        build_profile_input(platform="x", handle=" @ ")
