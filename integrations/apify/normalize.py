"""Turn Apify dataset items into our own types, with each platform's reader from its spec.

Shapes come from real items (tests/fixtures/apify/*.json; read each ``_note``). What each platform
reads, and where its post id comes from, is in its spec module (tracking/platforms/); the types and
the count/date rules are in tracking/platforms/items.py. What is the same for every actor is here:

- Error rows (``{"error": ..., "url"/"inputUrl": ...}``, X's ``{"noResults": true}``) and items without a
  post id come back as a MetricsItem with ``error`` set; ``unavailable`` is set when the error says the
  post is gone or private. ``input_url`` carries the URL as submitted so such rows can still be matched.
- Nothing here raises on a bad item: an unexpected shape becomes an error item. A platform that no
  spec registers is a bug, not a bad item, and raises UnknownPlatform.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tracking.platforms import registry
from tracking.platforms.items import ItemReader, MetricsItem, ProfileItem

# Our types, re-exported for the vendor-side code that has always imported them from here.
__all__ = ["MetricsItem", "ProfileItem", "normalize_item", "normalize_profile"]

_UNAVAILABLE = re.compile(
    r"not[ _-]?found|does ?n[o']t exist|deleted|removed|private|unavailable|restricted|no longer|"
    r"not available|no[ _-]?results",
    re.IGNORECASE,
)


def normalize_item(*, platform: str, item: Any) -> MetricsItem:
    """One dataset item as a MetricsItem. Never raises on the item: problems come back in ``error``.

    Raises UnknownPlatform (tracking.platforms.registry) when ``platform`` is not registered.
    """
    spec = registry.get(str(platform))
    if not isinstance(item, dict):
        return MetricsItem(platform=spec.key, external_id=None, error=f"item is {type(item).__name__}, not an object")
    if spec.normalize_metrics is None:
        return MetricsItem(platform=spec.key, external_id=None, error=f"no Apify normalizer for {spec.key}")
    reader = ItemReader(item, platform=spec.key)
    try:
        return _normalize(spec.normalize_metrics, reader)
    except Exception as exc:  # noqa: BLE001 - an unforeseen vendor shape must not sink the whole dataset
        return MetricsItem(
            platform=spec.key,
            external_id=reader.text("id"),
            input_url=reader.input_url(),
            error=f"unreadable item: {exc!r}",
        )


def _normalize(read: Callable[[ItemReader], MetricsItem], reader: ItemReader) -> MetricsItem:
    error = _error_of(reader)
    if error is not None:
        return _error_item(reader, error)
    item = read(reader)
    if not item.external_id:
        return MetricsItem(
            platform=reader.platform,
            external_id=None,
            url=item.url,
            input_url=item.input_url,
            error="item has no post id",
        )
    return item


def _error_of(reader: ItemReader) -> str | None:
    """The error an error row reports, or None for a data row."""
    error = reader.get("error")
    if error:
        detail = reader.text("errorDescription", "errorMessage", "message")
        error_text = error if isinstance(error, str) else str(error)
        return f"{error_text}: {detail}" if detail and detail != error_text else error_text
    if reader.get("noResults") is True:
        return "no results"
    return None


def _error_item(reader: ItemReader, error: str) -> MetricsItem:
    url = reader.text("url", "postUrl", "webVideoUrl")
    return MetricsItem(
        platform=reader.platform,
        external_id=reader.text("id", "postId", "shortCode") or None,
        url=url,
        unavailable=bool(_UNAVAILABLE.search(error)),
        error=error,
        input_url=reader.input_url() or url,
    )


def normalize_profile(*, platform: str, item: Any) -> ProfileItem:
    """One verification-run item as a ProfileItem. Never raises on the item: problems come back in
    ``error``; raises UnknownPlatform when ``platform`` is not registered.

    A profile without a bio comes back with ``bio=""``.
    """
    spec = registry.get(str(platform))
    if spec.normalize_profile is None:
        return _profile_error(spec.key, f"no profile normalizer for {spec.key}")
    if not isinstance(item, dict):
        return _profile_error(spec.key, "item is not an object")
    reader = ItemReader(item, platform=spec.key)
    error = _error_of(reader)
    if error is not None:
        return _profile_error(spec.key, error)
    profile = spec.normalize_profile(reader)
    if not profile.platform_user_id and not profile.handle:
        return _profile_error(spec.key, "item has no profile")
    # A missing or empty bio is not an error: the verification code is simply absent.
    return profile if profile.bio else replace(profile, bio="")


def _profile_error(platform: str, error: str) -> ProfileItem:
    return ProfileItem(platform=platform, platform_user_id=None, handle=None, bio=None, error=error)
