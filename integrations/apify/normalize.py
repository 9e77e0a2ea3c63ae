"""Turn Apify dataset items into our own types, one reader per platform.

Shapes come from real items (tests/fixtures/apify/*.json; read each ``_note``). Rules shared by all
platforms:

- Keys may be nested (``authorMeta.name`` under ``authorMeta``) or dot-flattened (``"authorMeta.name"``,
  from flattened dataset exports); both are read, the flattened key first.
- Counts may be ints, floats or strings ("3,456", "1.2K", "3M"). A count parsed from an abbreviated
  string is approximate, which sets ``rounded``. Negative, boolean or unparseable counts become None.
- Error rows (``{"error": ..., "url"/"inputUrl": ...}``, X's ``{"noResults": true}``) and items without a
  post id come back as a MetricsItem with ``error`` set; ``unavailable`` is set when the error says the
  post is gone or private. ``input_url`` carries the URL as submitted so such rows can still be matched.
- Nothing here raises on a bad item: an unexpected shape becomes an error item.

Per platform, ``external_id`` is: TikTok ``id``; Instagram ``shortCode`` (our URLs carry shortcodes, not
the numeric media id); X the tweet ``id``; Facebook ``postId`` (note: it is not the id found in
``topLevelUrl`` nor a ``pfbid`` permalink token, so Facebook posts are best matched by ``input_url``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from tracking.platforms import Platform


@dataclass(frozen=True)
class MetricsItem:
    """One post's numbers as scraped. ``views_source`` names the vendor field ``views`` came from."""

    platform: str
    external_id: str | None
    url: str | None = None
    views: int | None = None
    likes: int | None = None
    likes_hidden: bool = False
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    caption: str | None = None
    author_id: str | None = None
    author_handle: str | None = None
    posted_at: datetime | None = None
    views_source: str | None = None
    rounded: bool = False
    unavailable: bool = False
    error: str | None = None
    input_url: str | None = None

    @property
    def ok(self) -> bool:
        """True when the item carries a post id and numbers (no error)."""
        return self.error is None


@dataclass(frozen=True)
class ProfileItem:
    """A profile as scraped for ownership verification; ``bio`` is where the verification code goes."""

    platform: str
    platform_user_id: str | None
    handle: str | None
    bio: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# ---------------------------------------------------------------------------------------------- counts

_COUNT = re.compile(r"^([0-9][0-9.,\s]*?)\s*([KMB])?$", re.IGNORECASE)
_MULTIPLIER = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_count(value: Any) -> tuple[int | None, bool]:
    """``(count, rounded)`` from an int, float or display string; ``(None, False)`` when unusable."""
    if value is None or isinstance(value, bool):
        return None, False
    if isinstance(value, int | float):
        return (int(value), False) if math.isfinite(value) and value >= 0 else (None, False)
    if not isinstance(value, str):
        return None, False
    match = _COUNT.match(value.strip())
    if match is None:
        return None, False
    digits, suffix = match.group(1).replace(" ", ""), match.group(2)
    if suffix is None:
        digits = digits.replace(",", "")
        return (int(digits), False) if digits.isdigit() else (None, False)
    return _abbreviated(digits, suffix)


def _abbreviated(digits: str, suffix: str) -> tuple[int | None, bool]:
    # "1,2K" is a decimal comma; "1,200K" never appears in display strings but reads as thousands.
    if "." not in digits and re.fullmatch(r"[0-9]+,[0-9]{1,2}", digits):
        digits = digits.replace(",", ".")
    try:
        number = float(digits.replace(",", ""))
    except ValueError:
        return None, False
    return round(number * _MULTIPLIER[suffix.upper()]), True


# ---------------------------------------------------------------------------------------------- times

_TWITTER_TIME = re.compile(r"^\w{3} (\w{3}) (\d{1,2}) (\d\d:\d\d:\d\d) ([+-]\d{4}) (\d{4})$")


def parse_posted_at(value: Any) -> datetime | None:
    """Aware datetime from ISO 8601, epoch seconds/milliseconds, or Twitter's "Sun Sep 29 21:24:45 +0000 2024"."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    twitter = _TWITTER_TIME.match(value.strip())
    if twitter:
        month, day, clock, offset, year = twitter.groups()
        # Reordered to RFC 2822 so month names parse without depending on the process locale.
        return parsedate_to_datetime(f"{day} {month} {year} {clock} {offset}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_epoch(seconds: float) -> datetime | None:
    if seconds > 100_000_000_000:  # milliseconds: no post predates 1973 or postdates 5138
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------- reading


_MISSING = object()
# Dotted path → its keys, split once per process (None for a path without a dot).
_PATH_KEYS: dict[str, tuple[str, ...] | None] = {}


class _Reader:
    """Reads one item, nested or dot-flattened, and remembers whether any count was approximate.

    Called a dozen times per item on datasets of tens of thousands of items, so it stays plain:
    slots, paths split once, and exact-type fast paths for the common int and str values."""

    __slots__ = ("item", "rounded")

    def __init__(self, item: dict[str, Any], rounded: bool = False) -> None:
        self.item = item
        self.rounded = rounded

    def get(self, path: str) -> Any:
        item = self.item
        value = item.get(path, _MISSING)
        if value is not _MISSING:
            return value
        try:
            keys = _PATH_KEYS[path]
        except KeyError:
            keys = _PATH_KEYS[path] = tuple(path.split(".")) if "." in path else None
        if keys is None:
            return None
        node: Any = item
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def first(self, *paths: str) -> tuple[str | None, Any]:
        """The first path whose value is not None, with that value."""
        for path in paths:
            value = self.get(path)
            if value is not None and value != "":
                return path, value
        return None, None

    def text(self, *paths: str) -> str | None:
        value = self.first(*paths)[1]
        if type(value) is str:
            return value
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        return str(value)

    def count(self, *paths: str) -> int | None:
        return self.counted(*paths)[1]

    def counted(self, *paths: str) -> tuple[str | None, int | None]:
        """``(source path, count)`` of the first path holding a usable count."""
        for path in paths:
            value = self.get(path)
            if type(value) is int:  # the usual case, what parse_count would return for it
                if value >= 0:
                    return path, value
                continue
            number, rounded = parse_count(value)
            if number is not None:
                self.rounded = self.rounded or rounded
                return path, number
        return None, None


_UNAVAILABLE = re.compile(
    r"not[ _-]?found|does ?n[o']t exist|deleted|removed|private|unavailable|restricted|no longer|"
    r"not available|no[ _-]?results",
    re.IGNORECASE,
)


def _error_of(reader: _Reader) -> str | None:
    """The error an error row reports, or None for a data row."""
    error = reader.get("error")
    if error:
        detail = reader.text("errorDescription", "errorMessage", "message")
        error_text = error if isinstance(error, str) else str(error)
        return f"{error_text}: {detail}" if detail and detail != error_text else error_text
    if reader.get("noResults") is True:
        return "no results"
    return None


def _input_url(reader: _Reader) -> str | None:
    return reader.text("submittedVideoUrl", "inputUrl", "input_url", "facebookUrl")


# ---------------------------------------------------------------------------------------------- platforms


def _tiktok(r: _Reader) -> dict[str, Any]:
    source, views = r.counted("playCount", "stats.playCount")
    return {
        "external_id": r.text("id"),
        "url": r.text("webVideoUrl", "url"),
        "views": views,
        "views_source": source,
        "likes": r.count("diggCount", "stats.diggCount"),
        "comments": r.count("commentCount", "stats.commentCount"),
        "shares": r.count("shareCount", "stats.shareCount"),
        "saves": r.count("collectCount", "stats.collectCount"),
        "caption": r.text("text", "desc"),
        "author_id": r.text("authorMeta.id"),
        "author_handle": r.text("authorMeta.name"),
        "posted_at": parse_posted_at(r.first("createTimeISO", "createTime")[1]),
    }


_INSTAGRAM_CODE = re.compile(r"instagram\.com/(?:[^/]+/)?(?:p|reel|reels|tv)/([A-Za-z0-9_-]+)")


def _instagram(r: _Reader) -> dict[str, Any]:
    # Plays (videoPlayCount) is what Instagram shows as "views" on reels today; videoViewCount is the
    # older, much smaller metric. Use plays when present, else views; record which one was used.
    source, views = r.counted("videoPlayCount", "videoViewCount")
    raw_likes = r.get("likesCount")
    hidden = isinstance(raw_likes, int | float) and not isinstance(raw_likes, bool) and raw_likes < 0
    url = r.text("url")
    return {
        "external_id": r.text("shortCode") or _instagram_code(url),
        "url": url,
        "views": views,
        "views_source": source,
        "likes": None if hidden else r.count("likesCount"),
        "likes_hidden": hidden,
        "comments": r.count("commentsCount"),
        "caption": r.text("caption"),
        "author_id": r.text("ownerId"),
        "author_handle": r.text("ownerUsername"),
        "posted_at": parse_posted_at(r.get("timestamp")),
    }


def _instagram_code(url: str | None) -> str | None:
    match = _INSTAGRAM_CODE.search(url or "")
    return match.group(1) if match else None


def _x(r: _Reader) -> dict[str, Any]:
    source, views = r.counted("viewCount")
    return {
        "external_id": r.text("id", "id_str"),
        "url": r.text("url", "twitterUrl"),
        "views": views,
        "views_source": source,
        "likes": r.count("likeCount"),
        "comments": r.count("replyCount"),
        "shares": r.count("retweetCount"),  # quotes (quoteCount) are posts of their own, not shares
        "saves": r.count("bookmarkCount"),
        "caption": r.text("text", "fullText"),
        "author_id": r.text("author.id"),
        "author_handle": r.text("author.userName", "author.username"),
        "posted_at": parse_posted_at(r.get("createdAt")),
    }


# facebook-posts-scraper reads the page name from the URL path, so /p/<Name-id>/ pages yield "p".
_NOT_A_PAGE_NAME = {"p", "pg", "people", "profile.php", "permalink.php", "watch", "reel"}


def _facebook(r: _Reader) -> dict[str, Any]:
    source, views = r.counted("viewsCount", "videoViewCount")
    page_name = r.text("pageName")
    return {
        "external_id": r.text("postId"),
        "url": r.text("url", "topLevelUrl"),
        "views": views,
        "views_source": source,
        "likes": r.count("likes"),
        "comments": r.count("comments"),
        "shares": r.count("shares"),
        "caption": r.text("text"),
        "author_id": r.text("user.id", "facebookId"),
        "author_handle": None if page_name in _NOT_A_PAGE_NAME else page_name,
        "posted_at": parse_posted_at(r.first("time", "timestamp")[1]),
    }


_METRICS_READERS: dict[str, Callable[[_Reader], dict[str, Any]]] = {
    Platform.TIKTOK: _tiktok,
    Platform.INSTAGRAM: _instagram,
    Platform.X: _x,
    Platform.FACEBOOK: _facebook,
}


def normalize_item(*, platform: str, item: Any) -> MetricsItem:
    """One dataset item as a MetricsItem. Never raises: problems come back in ``error``."""
    platform = str(platform)
    if not isinstance(item, dict):
        return MetricsItem(platform=platform, external_id=None, error=f"item is {type(item).__name__}, not an object")
    reader = _Reader(item)
    try:
        return _normalize(platform, reader)
    except Exception as exc:  # noqa: BLE001 - an unforeseen vendor shape must not sink the whole dataset
        return MetricsItem(
            platform=platform,
            external_id=reader.text("id"),
            input_url=_input_url(reader),
            error=f"unreadable item: {exc!r}",
        )


def _normalize(platform: str, reader: _Reader) -> MetricsItem:
    read = _METRICS_READERS.get(platform)
    if read is None:
        return MetricsItem(platform=platform, external_id=None, error=f"no Apify normalizer for {platform}")
    error = _error_of(reader)
    if error is not None:
        return _error_item(platform, reader, error)
    fields = read(reader)
    input_url = _input_url(reader)
    if not fields["external_id"]:
        return MetricsItem(
            platform=platform,
            external_id=None,
            url=fields["url"],
            input_url=input_url,
            error="item has no post id",
        )
    return _metrics_item({**fields, "platform": platform, "rounded": reader.rounded, "input_url": input_url})


_METRICS_DEFAULTS = {f.name: f.default for f in dataclass_fields(MetricsItem)}


def _metrics_item(values: dict[str, Any]) -> MetricsItem:
    """``MetricsItem(**values)`` for the readers' own keys, minus the frozen dataclass's one
    ``object.__setattr__`` call per field: the same object (every field in ``__dict__``), built in a
    fraction of the time, which shows on datasets of tens of thousands of items."""
    item = object.__new__(MetricsItem)
    object.__setattr__(item, "__dict__", {**_METRICS_DEFAULTS, **values})
    return item


def _error_item(platform: str, reader: _Reader, error: str) -> MetricsItem:
    url = reader.text("url", "postUrl", "webVideoUrl")
    return MetricsItem(
        platform=platform,
        external_id=reader.text("id", "postId", "shortCode") or None,
        url=url,
        unavailable=bool(_UNAVAILABLE.search(error)),
        error=error,
        input_url=_input_url(reader) or url,
    )


# ---------------------------------------------------------------------------------------------- profiles


def _tiktok_profile(r: _Reader) -> tuple[str | None, str | None, str | None]:
    # Profile runs return the profile's videos; every video carries its author's profile.
    return r.text("authorMeta.id"), r.text("authorMeta.name"), r.text("authorMeta.signature")


def _instagram_profile(r: _Reader) -> tuple[str | None, str | None, str | None]:
    return r.text("id"), r.text("username"), r.text("biography")


def _x_profile(r: _Reader) -> tuple[str | None, str | None, str | None]:
    return r.text("id", "id_str"), r.text("userName", "username", "screen_name"), r.text("description")


_PROFILE_READERS: dict[str, Callable[[_Reader], tuple[str | None, str | None, str | None]]] = {
    Platform.TIKTOK: _tiktok_profile,
    Platform.INSTAGRAM: _instagram_profile,
    Platform.X: _x_profile,
}


def normalize_profile(*, platform: str, item: Any) -> ProfileItem:
    """One verification-run item as a ProfileItem. Never raises: problems come back in ``error``.

    A profile without a bio comes back with ``bio=""``.
    """
    platform = str(platform)
    read = _PROFILE_READERS.get(platform)
    if read is None:
        return ProfileItem(
            platform=platform,
            platform_user_id=None,
            handle=None,
            bio=None,
            error=f"no profile normalizer for {platform}",
        )
    if not isinstance(item, dict):
        return ProfileItem(
            platform=platform, platform_user_id=None, handle=None, bio=None, error="item is not an object"
        )
    reader = _Reader(item)
    error = _error_of(reader)
    if error is not None:
        return ProfileItem(platform=platform, platform_user_id=None, handle=None, bio=None, error=error)
    user_id, handle, bio = read(reader)
    if not user_id and not handle:
        return ProfileItem(platform=platform, platform_user_id=None, handle=None, bio=None, error="item has no profile")
    # A missing or empty bio is not an error: the verification code is simply absent.
    return ProfileItem(platform=platform, platform_user_id=user_id, handle=handle, bio=bio or "")
