"""Facebook: links, handles, the apify/facebook-posts-scraper actor and its items, demo posts.

Profiles are verified by staff (no actor returns a Facebook bio reliably). The id in a post link is
not the ``postId`` the scraper reports, so post links are provisional (``needs_resolution``) and
Facebook posts are best matched by the submitted URL.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from tracking.platforms.items import ItemReader, MetricsItem, parse_posted_at, thumbnail_url
from tracking.platforms.links import Link, NotAPost, NotAProfile, PostRef, ProfilePage, short_link
from tracking.platforms.spec import HandleRule, MetricsActor, PlatformSpec

# --- links -------------------------------------------------------------------------------------

_WATCH_HOSTS = ("fb.watch", "www.fb.watch")
_ID = re.compile(r"\d{5,25}")
_POST_ID = re.compile(r"\d{5,25}|pfbid0[A-Za-z0-9]{20,100}")
_SHARE_CODE = re.compile(r"[A-Za-z0-9_-]{4,40}")
_PAGE = re.compile(r"[a-z0-9._-]{1,100}")
_PHOTO_PATHS = {"photo", "photo.php", "photos", "media"}
_PROFILE_PATHS = {"profile.php", "people", "p"}
_NON_PAGES = {
    "watch",
    "reel",
    "reels",
    "share",
    "groups",
    "events",
    "marketplace",
    "gaming",
    "login",
    "help",
    "pages",
    "stories",
    "story.php",
    "permalink.php",
    "video.php",
    "l.php",
    "hashtag",
    "search",
}


def parse_post(link: Link) -> PostRef:
    """A video, reel, post, group post or share link."""
    segments = link.segments
    if link.host in _WATCH_HOSTS:
        return _share("fb.watch", segments, prefix="")
    head = segments[0].lower() if segments else ""
    handler = _HEADS.get(head)
    if handler is not None:
        return handler(link)
    if head in _PHOTO_PATHS:
        raise NotAPost("That Facebook photo link")
    if head in _PROFILE_PATHS:
        raise ProfilePage()
    return _page_path(segments)


def _share(host: str, segments: tuple[str, ...], *, prefix: str) -> PostRef:
    # facebook.com/share/r/<code>, /share/v/<code>, /share/p/<code>, /share/<code>, fb.watch/<code>
    kind = segments[:1] if len(segments) == 2 and segments[0] in ("r", "v", "p") else ()
    code = segments[len(kind) :]
    if len(code) != 1 or not _SHARE_CODE.fullmatch(code[0]):
        raise NotAPost("That Facebook share link is incomplete and")
    return short_link(host, prefix + "/".join(kind + code))


def _share_path(link: Link) -> PostRef:
    return _share("www.facebook.com", link.segments[1:], prefix="share/")


def _reel(link: Link) -> PostRef:
    segments = link.segments
    if len(segments) < 2 or not _ID.fullmatch(segments[1]):
        raise NotAPost("That Facebook reels link")
    return _video(segments[1], handle=None, canonical=f"https://www.facebook.com/reel/{segments[1]}")


def _watch(link: Link) -> PostRef:
    video_id = link.param("v")
    if video_id is None or not _ID.fullmatch(video_id):
        raise NotAPost("That Facebook Watch link has no video id and")
    return _video(video_id, handle=None)


def _video(video_id: str, *, handle: str | None, canonical: str = "") -> PostRef:
    return PostRef(
        external_id=video_id,
        canonical_url=canonical or f"https://www.facebook.com/watch/?v={video_id}",
        needs_resolution=False,
        handle=handle,
    )


def _story(link: Link) -> PostRef:
    # story.php / permalink.php ?story_fbid=<post id>&id=<owner id>
    post_id, owner = link.param("story_fbid"), link.param("id")
    if post_id is None or owner is None or not _POST_ID.fullmatch(post_id):
        raise NotAPost("That Facebook story link is incomplete and")
    if not _ID.fullmatch(owner):
        raise NotAPost()
    return _post(owner, post_id, handle=owner)


def _group(link: Link) -> PostRef:
    segments = link.segments
    if len(segments) < 4 or segments[2] not in ("posts", "permalink"):
        raise NotAPost("That Facebook group link")
    group, post_id = segments[1].lower(), segments[3]
    if not _PAGE.fullmatch(group) or not _POST_ID.fullmatch(post_id):
        raise NotAPost()
    return _post(f"groups/{group}", post_id, handle=None)


def _page_path(segments: tuple[str, ...]) -> PostRef:
    """/<page>, /<page>/posts/<id>, /<page>/videos/[<slug>/]<id>."""
    page = segments[0].lower() if segments else ""
    if not page or page in _NON_PAGES or not _PAGE.fullmatch(page):
        raise NotAPost()
    if len(segments) == 1:
        raise ProfilePage()
    if segments[1] == "posts" and len(segments) >= 3 and _POST_ID.fullmatch(segments[2]):
        return _post(page, segments[2], handle=page)
    if segments[1] == "videos":
        video_ids = [s for s in segments[2:] if _ID.fullmatch(s)]
        if video_ids:  # the last number: /videos/vb.<page id>/<video id>/ carries two
            return _video(video_ids[-1], handle=page)
    raise NotAPost()


def _post(owner: str, post_id: str, *, handle: str | None) -> PostRef:
    # The id in a post link (numeric or "pfbid...") is not the postId Facebook's scrapers report, so
    # it is provisional: the first scrape settles it (needs_resolution).
    return PostRef(
        external_id=post_id,
        canonical_url=f"https://www.facebook.com/{owner}/posts/{post_id}",
        needs_resolution=True,
        handle=handle,
    )


_HEADS: dict[str, Callable[[Link], PostRef]] = {
    "share": _share_path,
    "reel": _reel,
    "reels": _reel,
    "watch": _watch,
    "video.php": _watch,
    "story.php": _story,
    "permalink.php": _story,
    "groups": _group,
}


def read_profile_handle(link: Link) -> str:
    """A page name, or the numeric id of profile.php?id=, /people/<Name>/<id>/ and /p/<Name>-<id>/."""
    segments = link.segments
    head = segments[0].lower() if segments else ""
    if head == "profile.php" and link.param("id"):
        return link.param("id") or ""
    numbers = re.findall(r"\d{5,25}", segments[-1]) if head in ("people", "p") and len(segments) >= 2 else []
    if numbers:  # /people/<Name>/<id>/ and /p/<Name>-<id>/
        return numbers[-1]
    if len(segments) != 1 or head in _NON_PAGES | _PROFILE_PATHS or link.host == "fb.watch":
        raise NotAProfile()
    return segments[0]


# --- Apify: apify/facebook-posts-scraper ---------------------------------------------------------


def build_metrics_input(urls: list[str], limit: int) -> dict[str, Any]:
    """startUrls are request objects; resultsLimit caps the run."""
    return {"startUrls": [{"url": url} for url in urls], "resultsLimit": limit}


# facebook-posts-scraper reads the page name from the URL path, so /p/<Name-id>/ pages yield "p".
_NOT_A_PAGE_NAME = {"p", "pg", "people", "profile.php", "permalink.php", "watch", "reel"}


_TOP_LEVEL_ID = re.compile(r"/posts/(\d{5,25})/?$")


def normalize_metrics(r: ItemReader) -> MetricsItem:
    """A post item. ``external_id`` is its ``postId``; ``topLevelUrl``
    (``facebook.com/<page id>/posts/<id>``) is the canonical link and its id, which is often another
    number than ``postId``, is an alias: a post submitted by that numeric link is matched by it. The
    ``url`` (a ``pfbid`` permalink) is a second URL to match by."""
    source, views = r.counted("viewsCount", "videoViewCount")
    page_name = r.text("pageName")
    top_level = r.text("topLevelUrl")
    permalink = r.text("url")
    alias = _TOP_LEVEL_ID.search(top_level or "")
    return r.metrics_item(
        external_id=r.text("postId"),
        url=top_level or permalink,
        alt_url=permalink if top_level else None,
        aliases=(alias.group(1),) if alias else (),
        views=views,
        views_source=source,
        likes=r.count("likes"),
        comments=r.count("comments"),
        shares=r.count("shares"),
        caption=r.text("text"),
        author_id=r.text("user.id", "facebookId"),
        author_handle=None if page_name in _NOT_A_PAGE_NAME else page_name,
        posted_at=parse_posted_at(r.first("time", "timestamp")[1]),
        thumbnail_url=_picture(r.get("media")),
    )


def _picture(media: object) -> str | None:
    """The first ``media`` entry's ``thumbnail`` (photos and videos carry one; the album entry does not)."""
    if not isinstance(media, list):
        return None
    urls = (thumbnail_url(m.get("thumbnail")) for m in media if isinstance(m, dict))
    return next((url for url in urls if url), None)


# --- demo ----------------------------------------------------------------------------------------


def demo_post(handle: str, rng: random.Random) -> tuple[str, str]:
    """A plausible (reel id, reel URL)."""
    pid = str(rng.randrange(1_000_000_000_000_000, 9_999_999_999_999_999))
    return pid, f"https://www.facebook.com/reel/{pid}"


SPEC = PlatformSpec(
    key="facebook",
    label="Facebook",
    badge_class="platform-facebook",
    hosts=(
        "facebook.com",
        "www.facebook.com",
        "m.facebook.com",
        "web.facebook.com",
        "mbasic.facebook.com",
        "touch.facebook.com",
        "mobile.facebook.com",
        "fb.com",
        "www.fb.com",
        *_WATCH_HOSTS,
    ),
    # Facebook's regional hosts: es-la.facebook.com, de-de.facebook.com, ...
    host_pattern=re.compile(r"[a-z]{2}-[a-z]{2}\.facebook\.com"),
    brand_fragments=("facebook",),
    brand_labels=("fb",),
    example_url="https://www.facebook.com/reel/1234567890123456",
    post_noun="post or video",
    parse_post=parse_post,
    read_profile_handle=read_profile_handle,
    handle_rule=HandleRule(
        # New names need 5 characters, but long-standing pages such as facebook.com/nasa are shorter.
        re.compile(r"[a-z0-9.]{2,50}|\d{5,25}"),
        "2 to 50 letters, digits or dots, or your numeric profile id",
    ),
    collector="apify",
    verification="staff",
    metrics_actor=MetricsActor("APIFY_FACEBOOK_ACTOR_ID", "apify/facebook-posts-scraper", build_metrics_input),
    normalize_metrics=normalize_metrics,
    demo_post=demo_post,
    simulated_share=0.05,
)
