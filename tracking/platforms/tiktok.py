"""TikTok: links, handles, the clockworks/tiktok-scraper actor and its items, demo posts."""

from __future__ import annotations

import random
import re
from typing import Any

from tracking.platforms.items import ItemReader, MetricsItem, ProfileItem, parse_posted_at
from tracking.platforms.links import Link, NotAPost, NotAProfile, PostRef, ProfilePage, short_link
from tracking.platforms.spec import HandleRule, MetricsActor, PlatformSpec, ProfileActor

# --- links -------------------------------------------------------------------------------------

_SHORT_HOSTS = ("vm.tiktok.com", "vt.tiktok.com")
_ID = re.compile(r"\d{10,21}")
_SHORT_CODE = re.compile(r"[A-Za-z0-9_-]{4,24}")
_HANDLE = re.compile(r"[a-z0-9_.]{1,24}")
# Path prefixes that are followed by a bare video id (the embed, player, share and old mobile forms).
_ID_PREFIXES = {("v",), ("video",), ("share", "video"), ("embed",), ("embed", "v2"), ("player", "v1")}


def parse_post(link: Link) -> PostRef:
    """A TikTok video or photo post link, in any of the forms the app and the web share."""
    segments = link.segments
    if link.host in _SHORT_HOSTS:
        return _short(link.host, segments)
    if segments[:1] == ("t",):
        return _short("www.tiktok.com", segments[1:], prefix="t/")
    if segments and segments[0].startswith("@"):
        return _under_handle(segments)
    return _bare_id(segments)


def _short(host: str, segments: tuple[str, ...], prefix: str = "") -> PostRef:
    if len(segments) != 1 or not _SHORT_CODE.fullmatch(segments[0]):
        raise NotAPost("That TikTok share link is incomplete and")
    return short_link(host, prefix + segments[0])


def _under_handle(segments: tuple[str, ...]) -> PostRef:
    handle = segments[0][1:].lower() or None
    if handle is not None and not _HANDLE.fullmatch(handle):
        raise NotAPost()
    if len(segments) == 1:
        raise ProfilePage()
    if len(segments) < 3 or segments[1] not in ("video", "photo") or not _ID.fullmatch(segments[2]):
        raise NotAPost()
    return _post(segments[2], kind=segments[1], handle=handle)


def _bare_id(segments: tuple[str, ...]) -> PostRef:
    if len(segments) < 2 or segments[:-1] not in _ID_PREFIXES:
        raise NotAPost()
    video_id = segments[-1].removesuffix(".html")
    if not _ID.fullmatch(video_id):
        raise NotAPost()
    return _post(video_id, kind="video", handle=None)


def _post(post_id: str, *, kind: str, handle: str | None) -> PostRef:
    # TikTok redirects /@/video/<id> to the right account, so an unknown handle still gives a
    # working canonical link.
    return PostRef(
        external_id=post_id,
        canonical_url=f"https://www.tiktok.com/@{handle or ''}/{kind}/{post_id}",
        needs_resolution=False,
        handle=handle,
    )


def read_profile_handle(link: Link) -> str:
    """The handle of a tiktok.com/@name profile link."""
    if len(link.segments) != 1 or not link.segments[0].startswith("@"):
        raise NotAProfile()
    return link.segments[0][1:]


# --- Apify: clockworks/tiktok-scraper ------------------------------------------------------------


def build_metrics_input(urls: list[str], limit: int) -> dict[str, Any]:
    """postURLs scrapes single videos; resultsPerPage is per input, so 1."""
    return {
        "postURLs": urls,
        "resultsPerPage": 1,
        "shouldDownloadVideos": False,
        "shouldDownloadCovers": False,
        "shouldDownloadSubtitles": False,
        "shouldDownloadSlideshowImages": False,
    }


def build_profile_input(handle: str) -> dict[str, Any]:
    """One video of the profile is enough: every item carries authorMeta (id, name, signature = bio)."""
    return {"profiles": [handle], "resultsPerPage": 1, "profileScrapeSections": ["videos"]}


def normalize_metrics(r: ItemReader) -> MetricsItem:
    """A video item; ``external_id`` is its ``id``."""
    source, views = r.counted("playCount", "stats.playCount")
    return r.metrics_item(
        external_id=r.text("id"),
        url=r.text("webVideoUrl", "url"),
        views=views,
        views_source=source,
        likes=r.count("diggCount", "stats.diggCount"),
        comments=r.count("commentCount", "stats.commentCount"),
        shares=r.count("shareCount", "stats.shareCount"),
        saves=r.count("collectCount", "stats.collectCount"),
        caption=r.text("text", "desc"),
        author_id=r.text("authorMeta.id"),
        author_handle=r.text("authorMeta.name"),
        posted_at=parse_posted_at(r.first("createTimeISO", "createTime")[1]),
        thumbnail_url=r.thumbnail("videoMeta.coverUrl", "videoMeta.originalCoverUrl"),
    )


def normalize_profile(r: ItemReader) -> ProfileItem:
    """Profile runs return the profile's videos; every video carries its author's profile."""
    return ProfileItem(
        platform=r.platform,
        platform_user_id=r.text("authorMeta.id"),
        handle=r.text("authorMeta.name"),
        bio=r.text("authorMeta.signature"),
    )


# --- demo ----------------------------------------------------------------------------------------


def demo_post(handle: str, rng: random.Random) -> tuple[str, str]:
    """A plausible (video id, canonical URL)."""
    pid = str(rng.randrange(7_300_000_000_000_000_000, 7_500_000_000_000_000_000))
    return pid, f"https://www.tiktok.com/@{handle}/video/{pid}"


SPEC = PlatformSpec(
    key="tiktok",
    label="TikTok",
    badge_class="platform-tiktok",
    hosts=("tiktok.com", "www.tiktok.com", "m.tiktok.com", *_SHORT_HOSTS),
    brand_fragments=("tiktok",),
    example_url="https://www.tiktok.com/@user/video/7234567890123456789",
    in_generic_examples=True,
    post_noun="video",
    parse_post=parse_post,
    read_profile_handle=read_profile_handle,
    handle_rule=HandleRule(re.compile(r"[a-z0-9_.]{2,24}"), "2 to 24 letters, digits, underscores or dots"),
    collector="apify",
    verification="apify",
    # The verification actor defaults to the metrics actor (its items carry authorMeta.signature), so
    # one actor's quirks are learnt once.
    metrics_actor=MetricsActor("APIFY_TIKTOK_ACTOR_ID", "clockworks/tiktok-scraper", build_metrics_input),
    profile_actor=ProfileActor("APIFY_TIKTOK_PROFILE_ACTOR_ID", "clockworks/tiktok-scraper", build_profile_input),
    normalize_metrics=normalize_metrics,
    normalize_profile=normalize_profile,
    demo_post=demo_post,
    simulated_share=0.40,
)
