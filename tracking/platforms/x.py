"""X (Twitter): links, handles, the apidojo actors and their items, demo posts."""

from __future__ import annotations

import random
import re
from typing import Any

from tracking.platforms.items import ItemReader, MetricsItem, ProfileItem, parse_posted_at, thumbnail_url
from tracking.platforms.links import Link, NotAPost, NotAProfile, PostRef, ProfilePage
from tracking.platforms.spec import HandleRule, MetricsActor, PlatformSpec, ProfileActor

# --- links -------------------------------------------------------------------------------------

_ID = re.compile(r"\d{1,20}")
_HANDLE = re.compile(r"[a-z0-9_]{1,15}")
_NON_PROFILES = {
    "home",
    "explore",
    "search",
    "notifications",
    "messages",
    "settings",
    "i",
    "intent",
    "share",
    "hashtag",
    "login",
    "signup",
    "tos",
    "privacy",
    "compose",
}


def parse_post(link: Link) -> PostRef:
    """A status link (x.com, twitter.com and the embed-fixing mirrors); canonical on x.com."""
    segments = link.segments
    if segments[:3] == ("i", "web", "status"):
        segments = ("i", *segments[2:])
    if len(segments) >= 3 and segments[1] in ("status", "statuses"):
        return _post(user=segments[0].lower(), post_id=segments[2])
    if len(segments) in (1, 2) and _is_profile(segments[0].lower()):
        raise ProfilePage()
    raise NotAPost()


def _is_profile(name: str) -> bool:
    return name not in _NON_PROFILES and _HANDLE.fullmatch(name) is not None


def _post(*, user: str, post_id: str) -> PostRef:
    # Anything after the id (/photo/1, /video/1, /analytics) is a view of the same post.
    if not _ID.fullmatch(post_id) or not _HANDLE.fullmatch(user):
        raise NotAPost()
    handle = None if user == "i" else user
    return PostRef(
        external_id=post_id,
        canonical_url=f"https://x.com/{handle or 'i'}/status/{post_id}",
        needs_resolution=False,
        handle=handle,
    )


def read_profile_handle(link: Link) -> str:
    """The handle of an x.com/<name> profile link (or one of its tabs, /<name>/media ...)."""
    segments = link.segments
    if len(segments) not in (1, 2) or not _is_profile(segments[0].lower()):
        raise NotAProfile()
    return segments[0]


# --- Apify: apidojo/twitter-scraper-lite and apidojo/twitter-user-scraper -------------------------


def build_metrics_input(urls: list[str], limit: int) -> dict[str, Any]:
    """Tweet URLs in startUrls; maxItems caps the whole run."""
    return {"startUrls": urls, "maxItems": limit}


def build_profile_input(handle: str) -> dict[str, Any]:
    """twitter-user-scraper's input; not verified against a real run (see x_user_item.json _note)."""
    return {"twitterHandles": [handle], "getFollowers": False, "getFollowing": False, "getRetweeters": False}


def normalize_metrics(r: ItemReader) -> MetricsItem:
    """A tweet item; ``external_id`` is the tweet ``id``."""
    source, views = r.counted("viewCount")
    return r.metrics_item(
        external_id=r.text("id", "id_str"),
        url=r.text("url", "twitterUrl"),
        views=views,
        views_source=source,
        likes=r.count("likeCount"),
        comments=r.count("replyCount"),
        shares=r.count("retweetCount"),  # quotes (quoteCount) are posts of their own, not shares
        saves=r.count("bookmarkCount"),
        caption=r.text("text", "fullText"),
        author_id=r.text("author.id"),
        author_handle=r.text("author.userName", "author.username"),
        posted_at=parse_posted_at(r.get("createdAt")),
        thumbnail_url=_picture(r),
    )


def _picture(r: ItemReader) -> str | None:
    """The tweet's first picture: ``media`` is a list of URLs; the photo objects under
    ``extendedEntities.media`` carry it as ``media_url_https`` (a video's cover frame too)."""
    media = r.get("media")
    candidates = [m for m in media if isinstance(m, str)] if isinstance(media, list) else []
    for path in ("extendedEntities.media", "entities.media"):
        entries = r.get(path)
        if isinstance(entries, list):
            candidates += [e.get("media_url_https") for e in entries if isinstance(e, dict)]
    return next((url for url in map(thumbnail_url, candidates) if url), None)


def normalize_profile(r: ItemReader) -> ProfileItem:
    """A user item; the bio is its ``description``."""
    return ProfileItem(
        platform=r.platform,
        platform_user_id=r.text("id", "id_str"),
        handle=r.text("userName", "username", "screen_name"),
        bio=r.text("description"),
    )


# --- demo ----------------------------------------------------------------------------------------


def demo_post(handle: str, rng: random.Random) -> tuple[str, str]:
    """A plausible (status id, status URL)."""
    pid = str(rng.randrange(1_900_000_000_000_000_000, 2_000_000_000_000_000_000))
    return pid, f"https://x.com/{handle}/status/{pid}"


SPEC = PlatformSpec(
    key="x",
    label="X",
    badge_class="platform-x",
    # fxtwitter/vxtwitter/fixupx are the embed-fixing mirrors Discord users paste all the time; only
    # the status id is read from them and the canonical URL is always x.com.
    hosts=(
        "x.com",
        "www.x.com",
        "mobile.x.com",
        "twitter.com",
        "www.twitter.com",
        "mobile.twitter.com",
        "m.twitter.com",
        "fxtwitter.com",
        "vxtwitter.com",
        "fixupx.com",
        "fixvx.com",
    ),
    brand_fragments=("twitter",),
    brand_labels=("x",),
    example_url="https://x.com/user/status/1840503004857774267",
    post_noun="post",
    parse_post=parse_post,
    read_profile_handle=read_profile_handle,
    handle_rule=HandleRule(re.compile(r"[a-z0-9_]{1,15}"), "up to 15 letters, digits or underscores"),
    collector="apify",
    verification="apify",
    metrics_actor=MetricsActor("APIFY_X_ACTOR_ID", "apidojo/twitter-scraper-lite", build_metrics_input),
    profile_actor=ProfileActor("APIFY_X_PROFILE_ACTOR_ID", "apidojo/twitter-user-scraper", build_profile_input),
    normalize_metrics=normalize_metrics,
    normalize_profile=normalize_profile,
    demo_post=demo_post,
    simulated_share=0.10,
)
