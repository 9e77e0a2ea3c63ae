"""Our types for what a scraper or an official API tells us about a post or a profile, and the
helpers every platform's item reader shares.

``MetricsItem`` and ``ProfileItem`` are what ingestion (metrics) and verification (tracking) consume;
the vendor layer (integrations) produces them. They live here, below the vendor layer, so that
tracking never imports integrations.

Rules shared by all platforms' readers:

- Keys may be nested (``authorMeta.name`` under ``authorMeta``) or dot-flattened (``"authorMeta.name"``,
  from flattened dataset exports); both are read, the flattened key first.
- Counts may be ints, floats or strings ("3,456", "1.2K", "3M"). A count parsed from an abbreviated
  string is approximate, which sets ``rounded``. Negative or boolean counts become None (scrapers
  use them for "hidden"). A count field holding text that is no count ("lots") or a list or object
  makes the whole item ``refused`` with the reason: ingestion then changes nothing for its post,
  rather than blanking numbers it cannot read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit


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
    refused: str | None = None
    # Other names the platform gives the same post, for matching posts whose link carried them:
    # ids (Facebook: the id in topLevelUrl, where postId is another) and a second URL (its permalink).
    aliases: tuple[str, ...] = ()
    alt_url: str | None = None
    # The post's picture as the scrape returned it (an https URL on the vendor's CDN; see thumbnail_url).
    thumbnail_url: str | None = None

    @property
    def ok(self) -> bool:
        """True when the item carries a post id and numbers (no error)."""
        return self.error is None and self.refused is None


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


# ---------------------------------------------------------------------------------------------- pictures

MAX_THUMBNAIL_URL_CHARS = 2048  # signed CDN links run to a few hundred characters; longer is not a picture
_URL_UNSAFE = re.compile(r"[\s\"'<>\\`\x00-\x1f\x7f]")


def thumbnail_url(value: Any) -> str | None:
    """``value`` when it is an https URL with a host, of bounded length and without characters that
    have no place in a URL; else None (a ``javascript:`` or ``http:`` link, text, a list...). The page
    shows it as an image, so nothing else gets through."""
    if type(value) is not str or not value.startswith("https://") or len(value) > MAX_THUMBNAIL_URL_CHARS:
        return None
    if _URL_UNSAFE.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme == "https" and parts.hostname else None


# ---------------------------------------------------------------------------------------------- reading


_MISSING = object()
# Dotted path → its keys, split once per process (None for a path without a dot).
_PATH_KEYS: dict[str, tuple[str, ...] | None] = {}
_METRICS_DEFAULTS = {f.name: f.default for f in dataclass_fields(MetricsItem)}


class ItemReader:
    """Reads one scraped item of ``platform``, nested or dot-flattened, and remembers whether any count
    was approximate.

    Called a dozen times per item on datasets of tens of thousands of items, so it stays plain:
    slots, paths split once, and exact-type fast paths for the common int and str values."""

    __slots__ = ("item", "platform", "rounded", "unreadable")

    def __init__(self, item: dict[str, Any], *, platform: str) -> None:
        self.item = item
        self.platform = platform
        self.rounded = False
        self.unreadable: list[str] = []

    def get(self, path: str) -> Any:
        """The value at ``path`` (flattened key first, then nested keys), or None."""
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
        """The first present value as text (numbers as their digits); None for other types."""
        value = self.first(*paths)[1]
        if type(value) is str:
            return value
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        return str(value)

    def count(self, *paths: str) -> int | None:
        """The first usable count among ``paths``."""
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
            if (type(value) is str and value.strip()) or isinstance(value, list | dict):
                self.unreadable.append(f"{path} is {_shown(value)}, not a count")
        return None, None

    def thumbnail(self, *paths: str) -> str | None:
        """The first of ``paths`` holding a usable picture URL (see ``thumbnail_url``)."""
        for path in paths:
            url = thumbnail_url(self.get(path))
            if url is not None:
                return url
        return None

    def input_url(self) -> str | None:
        """The URL as it was submitted to the scraper, which scrapers echo under one of these keys."""
        return self.text("submittedVideoUrl", "inputUrl", "input_url", "facebookUrl")

    def metrics_item(self, **fields: Any) -> MetricsItem:
        """The MetricsItem a platform's reader found in this item: ``fields`` plus the platform, whether
        a count was approximate and the submitted URL, filled the same way for every platform.

        The same object ``MetricsItem(**values)`` would be (every field in ``__dict__``), minus the frozen
        dataclass's one ``object.__setattr__`` call per field, which shows on large datasets."""
        values = {**_METRICS_DEFAULTS, **fields}
        values.update(platform=self.platform, rounded=self.rounded, input_url=self.input_url())
        if self.unreadable and not values["error"]:
            values["refused"] = "; ".join(self.unreadable)
        item = object.__new__(MetricsItem)
        object.__setattr__(item, "__dict__", values)
        return item


def _shown(value: Any) -> str:
    """A short, printable rendering of a value for a refusal message."""
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."
