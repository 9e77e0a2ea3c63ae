"""Which Apify actor scrapes what, and the input each of those actors expects.

Actor ids are configurable (settings named as in the integration audit); the input builders speak the
input schema of the *default* actors. Pointing a setting at a different actor with another input schema
needs a matching builder here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tracking.platforms import Platform

Purpose = Literal["metrics", "verification"]

# Setting name -> default actor. Verification actors default to the metrics actor where that actor can
# also return the profile (TikTok items carry authorMeta.signature; instagram-scraper has resultsType
# "details"), so one actor's quirks are learnt once.
DEFAULT_ACTOR_IDS: dict[str, str] = {
    "APIFY_TIKTOK_ACTOR_ID": "clockworks/tiktok-scraper",
    "APIFY_TIKTOK_PROFILE_ACTOR_ID": "clockworks/tiktok-scraper",
    "APIFY_INSTAGRAM_ACTOR_ID": "apify/instagram-scraper",
    "APIFY_INSTAGRAM_PROFILE_ACTOR_ID": "apify/instagram-scraper",
    "APIFY_X_ACTOR_ID": "apidojo/twitter-scraper-lite",
    "APIFY_X_PROFILE_ACTOR_ID": "apidojo/twitter-user-scraper",
    "APIFY_FACEBOOK_ACTOR_ID": "apify/facebook-posts-scraper",
}

_SETTING_FOR: dict[tuple[str, str], str] = {
    (Platform.TIKTOK, "metrics"): "APIFY_TIKTOK_ACTOR_ID",
    (Platform.TIKTOK, "verification"): "APIFY_TIKTOK_PROFILE_ACTOR_ID",
    (Platform.INSTAGRAM, "metrics"): "APIFY_INSTAGRAM_ACTOR_ID",
    (Platform.INSTAGRAM, "verification"): "APIFY_INSTAGRAM_PROFILE_ACTOR_ID",
    (Platform.X, "metrics"): "APIFY_X_ACTOR_ID",
    (Platform.X, "verification"): "APIFY_X_PROFILE_ACTOR_ID",
    (Platform.FACEBOOK, "metrics"): "APIFY_FACEBOOK_ACTOR_ID",
}


class UnsupportedScrape(ValueError):
    """No Apify actor is configured for this platform and purpose (e.g. YouTube, Facebook verification)."""


@dataclass(frozen=True)
class ActorIds:
    """The configured actor id per (platform, purpose). Build it with ``from_mapping``."""

    by_setting: Mapping[str, str]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None = None) -> ActorIds:
        """Read ``APIFY_*_ACTOR_ID`` keys from ``values`` (settings dict, os.environ...); blanks use defaults."""
        values = values or {}
        resolved = {
            name: (str(values.get(name) or "").strip() or default) for name, default in DEFAULT_ACTOR_IDS.items()
        }
        return cls(by_setting=resolved)

    @classmethod
    def from_settings(cls, settings_obj: Any) -> ActorIds:
        """Read the same names as attributes of a settings object (``django.conf.settings``)."""
        return cls.from_mapping({name: getattr(settings_obj, name, None) for name in DEFAULT_ACTOR_IDS})

    def actor_for(self, *, platform: str, purpose: Purpose) -> str:
        """The actor id ("user/name") to run; raises UnsupportedScrape when none is configured."""
        setting = _SETTING_FOR.get((Platform(platform), purpose))
        if setting is None:
            raise UnsupportedScrape(f"No Apify actor for {platform} {purpose}")
        return self.by_setting[setting]


def actor_for(*, platform: str, purpose: Purpose, settings_obj: Any) -> str:
    """Shortcut for ``ActorIds.from_settings(settings_obj).actor_for(...)``."""
    return ActorIds.from_settings(settings_obj).actor_for(platform=platform, purpose=purpose)


def build_metrics_input(*, platform: str, urls: list[str], max_items: int | None = None) -> dict[str, Any]:
    """Actor input that scrapes exactly the given post URLs (one run covers many posts).

    ``max_items`` caps what a pay-per-result actor may return; it defaults to one item per URL.
    """
    if not urls:
        raise ValueError("build_metrics_input needs at least one URL")
    limit = max_items if max_items is not None else len(urls)
    builder = _METRICS_INPUT.get(Platform(platform))
    if builder is None:
        raise UnsupportedScrape(f"No Apify metrics actor for {platform}")
    return builder(list(urls), limit)


def build_profile_input(*, platform: str, handle: str) -> dict[str, Any]:
    """Actor input that returns one profile (with its bio) for ownership verification."""
    handle = handle.strip().lstrip("@")
    if not handle:
        raise ValueError("build_profile_input needs a handle")
    builder = _PROFILE_INPUT.get(Platform(platform))
    if builder is None:
        raise UnsupportedScrape(f"No Apify verification actor for {platform}")
    return builder(handle)


def _tiktok_metrics(urls: list[str], limit: int) -> dict[str, Any]:
    # clockworks/tiktok-scraper: postURLs scrapes single videos; resultsPerPage is per input, so 1.
    return {
        "postURLs": urls,
        "resultsPerPage": 1,
        "shouldDownloadVideos": False,
        "shouldDownloadCovers": False,
        "shouldDownloadSubtitles": False,
        "shouldDownloadSlideshowImages": False,
    }


def _instagram_metrics(urls: list[str], limit: int) -> dict[str, Any]:
    # apify/instagram-scraper: a post URL in directUrls yields that post; resultsLimit is per URL.
    return {"directUrls": urls, "resultsType": "posts", "resultsLimit": 1, "addParentData": False}


def _x_metrics(urls: list[str], limit: int) -> dict[str, Any]:
    # apidojo twitter scrapers: tweet URLs in startUrls; maxItems caps the whole run.
    return {"startUrls": urls, "maxItems": limit}


def _facebook_metrics(urls: list[str], limit: int) -> dict[str, Any]:
    # apify/facebook-posts-scraper: startUrls are request objects, resultsLimit caps the run.
    return {"startUrls": [{"url": url} for url in urls], "resultsLimit": limit}


def _tiktok_profile(handle: str) -> dict[str, Any]:
    # One video of the profile is enough: every item carries authorMeta (id, name, signature = bio).
    return {"profiles": [handle], "resultsPerPage": 1, "profileScrapeSections": ["videos"]}


def _instagram_profile(handle: str) -> dict[str, Any]:
    return {
        "directUrls": [f"https://www.instagram.com/{handle}/"],
        "resultsType": "details",
        "resultsLimit": 1,
    }


def _x_profile(handle: str) -> dict[str, Any]:
    # apidojo/twitter-user-scraper input is not verified against a real run (see x_user_item.json _note).
    return {"twitterHandles": [handle], "getFollowers": False, "getFollowing": False, "getRetweeters": False}


_METRICS_INPUT = {
    Platform.TIKTOK: _tiktok_metrics,
    Platform.INSTAGRAM: _instagram_metrics,
    Platform.X: _x_metrics,
    Platform.FACEBOOK: _facebook_metrics,
}

_PROFILE_INPUT = {
    Platform.TIKTOK: _tiktok_profile,
    Platform.INSTAGRAM: _instagram_profile,
    Platform.X: _x_profile,
}
