"""Instagram: links, handles, the apify/instagram-scraper actor and its items, demo posts."""

from __future__ import annotations

import random
import re
from typing import Any

from tracking.platforms.items import ItemReader, MetricsItem, ProfileItem, parse_posted_at
from tracking.platforms.links import Link, NotAPost, NotAProfile, PostRef, ProfilePage, short_link
from tracking.platforms.spec import HandleRule, MetricsActor, PlatformSpec, ProfileActor

# --- links -------------------------------------------------------------------------------------

_KINDS = {"p", "reel", "reels", "tv"}
# Shortcodes are 11 characters today; older posts have shorter ones, private accounts' longer ones.
_SHORTCODE = re.compile(r"[A-Za-z0-9_-]{6,64}")
_HANDLE = re.compile(r"[a-z0-9._]{1,30}")
_NON_PROFILES = {"explore", "accounts", "direct", "about", "developer", "legal", "web", "emails"}


def parse_post(link: Link) -> PostRef:
    """An Instagram post, reel or IGTV link, with or without the account in the path, or a share link."""
    segments = link.segments
    head = segments[0].lower() if segments else ""
    if head == "share":
        return _share(segments[1:])
    if head == "stories":
        raise NotAPost("That Instagram story link disappears after a day and")
    if head in _KINDS:
        return _post(segments[1:], handle=None)
    if len(segments) >= 2 and segments[1] in _KINDS:
        return _post(segments[2:], handle=_handle(segments[0]))
    if len(segments) == 1 and head not in _NON_PROFILES and _HANDLE.fullmatch(head):
        raise ProfilePage()
    raise NotAPost()


def _share(segments: tuple[str, ...]) -> PostRef:
    # instagram.com/share/<code>, /share/reel/<code>, /share/p/<code>
    if segments[:1] in (("reel",), ("p",)):
        kind, code = segments[0] + "/", segments[1:]
    else:
        kind, code = "", segments
    if len(code) != 1 or not _SHORTCODE.fullmatch(code[0]):
        raise NotAPost("That Instagram share link is incomplete and")
    return short_link("www.instagram.com", f"share/{kind}{code[0]}")


def _handle(segment: str) -> str:
    handle = segment.lower()
    if not _HANDLE.fullmatch(handle):
        raise NotAPost()
    return handle


def _post(rest: tuple[str, ...], *, handle: str | None) -> PostRef:
    # Anything after the shortcode (/embed/, /captioned/, /liked_by/) is a view of the same post.
    if not rest or not _SHORTCODE.fullmatch(rest[0]):
        raise NotAPost()
    shortcode = rest[0]
    # One canonical form for posts, reels and IGTV alike: /p/<shortcode>/ serves all three and is what
    # the scraper reports back. Matching must still be by shortcode, never by URL.
    return PostRef(
        external_id=shortcode,
        canonical_url=f"https://www.instagram.com/p/{shortcode}/",
        needs_resolution=False,
        handle=handle,
    )


def read_profile_handle(link: Link) -> str:
    """The handle of an instagram.com/<name> profile link."""
    segments = link.segments
    if len(segments) != 1 or segments[0].lower() in _NON_PROFILES | _KINDS:
        raise NotAProfile()
    return segments[0]


# --- Apify: apify/instagram-scraper ----------------------------------------------------------------


def build_metrics_input(urls: list[str], limit: int) -> dict[str, Any]:
    """A post URL in directUrls yields that post; resultsLimit is per URL."""
    return {"directUrls": urls, "resultsType": "posts", "resultsLimit": 1, "addParentData": False}


def build_profile_input(handle: str) -> dict[str, Any]:
    """resultsType "details" returns the profile itself, biography included."""
    return {
        "directUrls": [f"https://www.instagram.com/{handle}/"],
        "resultsType": "details",
        "resultsLimit": 1,
    }


_CODE_IN_URL = re.compile(r"instagram\.com/(?:[^/]+/)?(?:p|reel|reels|tv)/([A-Za-z0-9_-]+)")


def normalize_metrics(r: ItemReader) -> MetricsItem:
    """A post item; ``external_id`` is its ``shortCode`` (our URLs carry shortcodes, not the numeric
    media id), read from the URL when the item has none."""
    # Plays (videoPlayCount) is what Instagram shows as "views" on reels today; videoViewCount is the
    # older, much smaller metric. Use plays when present, else views; record which one was used.
    source, views = r.counted("videoPlayCount", "videoViewCount")
    raw_likes = r.get("likesCount")
    hidden = isinstance(raw_likes, int | float) and not isinstance(raw_likes, bool) and raw_likes < 0
    url = r.text("url")
    return r.metrics_item(
        external_id=r.text("shortCode") or _code_in_url(url),
        url=url,
        views=views,
        views_source=source,
        likes=None if hidden else r.count("likesCount"),
        likes_hidden=hidden,
        comments=r.count("commentsCount"),
        caption=r.text("caption"),
        author_id=r.text("ownerId"),
        author_handle=r.text("ownerUsername"),
        posted_at=parse_posted_at(r.get("timestamp")),
        thumbnail_url=r.thumbnail("displayUrl"),  # the photo, or a video's cover frame
    )


def _code_in_url(url: str | None) -> str | None:
    match = _CODE_IN_URL.search(url or "")
    return match.group(1) if match else None


def normalize_profile(r: ItemReader) -> ProfileItem:
    """A "details" item: the profile with its biography."""
    return ProfileItem(
        platform=r.platform, platform_user_id=r.text("id"), handle=r.text("username"), bio=r.text("biography")
    )


# --- demo ----------------------------------------------------------------------------------------


def demo_post(handle: str, rng: random.Random) -> tuple[str, str]:
    """A plausible (shortcode, reel URL)."""
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789_-") for _ in range(11))
    return code, f"https://www.instagram.com/reel/{code}/"


SPEC = PlatformSpec(
    key="instagram",
    label="Instagram",
    badge_class="platform-instagram",
    hosts=("instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am", "www.instagr.am"),
    brand_fragments=("instagram",),
    brand_labels=("instagr",),
    example_url="https://www.instagram.com/reel/C1a2B3c4D5e/",
    post_noun="post",
    parse_post=parse_post,
    read_profile_handle=read_profile_handle,
    handle_rule=HandleRule(
        re.compile(r"(?!.*\.\.)(?!\.)[a-z0-9._]{1,30}(?<!\.)"),
        "up to 30 letters, digits, underscores or dots (not starting or ending with a dot)",
    ),
    collector="apify",
    verification="apify",
    # instagram-scraper also returns profiles (resultsType "details"), so it verifies too by default.
    metrics_actor=MetricsActor("APIFY_INSTAGRAM_ACTOR_ID", "apify/instagram-scraper", build_metrics_input),
    profile_actor=ProfileActor("APIFY_INSTAGRAM_PROFILE_ACTOR_ID", "apify/instagram-scraper", build_profile_input),
    normalize_metrics=normalize_metrics,
    normalize_profile=normalize_profile,
    demo_post=demo_post,
    simulated_share=0.25,
)
