"""YouTube Data API v3 client: video statistics and channel descriptions.

Translates between google-api-python-client and our own frozen dataclasses; raises only
``IntegrationError``. Quota accounting is the caller's job: every ``videos.list`` or
``channels.list`` call made here costs exactly 1 unit, and ``fetch_videos`` makes exactly one call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httplib2
from django.conf import settings
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from integrations.errors import FeatureDisabled, IntegrationError

YOUTUBE_BATCH_SIZE = 50  # the most ids videos.list accepts in one call (1 quota unit per call)
VIDEO_PARTS = "statistics,snippet"
QUOTA_TIMEZONE = ZoneInfo("America/Los_Angeles")  # YouTube resets daily quota at midnight Pacific

# Reasons (errors[].reason or details[].reason) after which no call can succeed until the daily reset.
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
# Short-term throttling: retrying later today can help.
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
_KEY_REASONS = frozenset({"keyInvalid", "API_KEY_INVALID", "keyExpired", "API_KEY_EXPIRED"})


@dataclass(frozen=True)
class VideoStats:
    """One video's public numbers. ``likes``/``comments`` are None when hidden or disabled.

    ``views`` is None only if YouTube left viewCount out (never seen for public videos; we refuse to
    invent a 0 that would look like a drop). ``published_at`` is None when snippet.publishedAt is
    absent or unreadable.
    """

    video_id: str
    views: int | None
    likes: int | None
    comments: int | None
    title: str
    description: str
    channel_id: str
    channel_title: str
    published_at: datetime | None
    thumbnail_url: str | None = None


@dataclass(frozen=True)
class VideoBatch:
    """Answer to one ``videos.list`` call.

    ``missing_ids`` are ids we asked for that YouTube did not return: deleted, private or never existed
    (YouTube does not say which).
    """

    videos: dict[str, VideoStats] = field(default_factory=dict)
    missing_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelInfo:
    """A channel's public identity, used to verify that a creator owns it (code in ``description``)."""

    channel_id: str
    title: str
    description: str
    handle: str | None  # snippet.customUrl, e.g. "@somecreator"; absent for some old channels


def batched(ids: Sequence[str], size: int = YOUTUBE_BATCH_SIZE) -> Iterator[tuple[str, ...]]:
    """Split ``ids`` into chunks of at most ``size``, in order, dropping blanks and duplicates.

    Dropping duplicates here means the number of chunks is the number of quota units the caller
    must debit.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    unique = list(dict.fromkeys(i.strip() for i in ids if i and i.strip()))
    for start in range(0, len(unique), size):
        yield tuple(unique[start : start + size])


def next_quota_reset(now: datetime) -> datetime:
    """Return the next midnight in America/Los_Angeles after ``now``, as an aware UTC datetime.

    ``now`` must be timezone-aware. DST is handled by zoneinfo (the reset is at local midnight, so it
    is 07:00 or 08:00 UTC depending on the season).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(QUOTA_TIMEZONE)
    tomorrow = local.date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=QUOTA_TIMEZONE).astimezone(UTC)


class YouTubeClient:
    """Calls the YouTube Data API with an API key. Not thread-safe (httplib2.Http is not): use one
    client per worker thread.
    """

    def __init__(self, *, api_key: str, timeout_s: float = 10, http: Any = None) -> None:
        """``http`` replaces the transport (tests pass HttpMock/HttpMockSequence); otherwise an
        ``httplib2.Http`` with ``timeout_s`` (from YOUTUBE_HTTP_TIMEOUT_MS) is used. No network is
        touched here: the API description ships inside google-api-python-client.
        """
        if not api_key:
            raise ValueError("YouTube API key is empty")
        self._api_key = api_key
        self._service = build(
            "youtube",
            "v3",
            developerKey=api_key,
            http=http if http is not None else httplib2.Http(timeout=timeout_s),
            static_discovery=True,
            cache_discovery=False,
        )

    def fetch_videos(self, *, video_ids: Sequence[str]) -> VideoBatch:
        """Fetch statistics and snippets for up to 50 ids with exactly one ``videos.list`` call.

        Duplicates are collapsed; an empty list returns an empty batch without calling YouTube.
        Raises ValueError for more than 50 distinct ids (split with ``batched`` first) and
        IntegrationError when the call fails.
        """
        ids = list(dict.fromkeys(i.strip() for i in video_ids if i and i.strip()))
        if len(ids) > YOUTUBE_BATCH_SIZE:
            raise ValueError(f"at most {YOUTUBE_BATCH_SIZE} ids per call, got {len(ids)}")
        if not ids:
            return VideoBatch()
        # The docs call maxResults unsupported with id; YouTube ignores it there, and it documents the
        # one-page contract (<= 50 ids never paginate).
        request = self._service.videos().list(part=VIDEO_PARTS, id=",".join(ids), maxResults=YOUTUBE_BATCH_SIZE)
        answer = self._execute(request, what="videos.list")
        videos = _parse_videos(answer.get("items") or [], wanted=set(ids))
        return VideoBatch(videos=videos, missing_ids=tuple(i for i in ids if i not in videos))

    def fetch_channel_description(self, *, channel_id: str | None = None, handle: str | None = None) -> ChannelInfo:
        """Fetch one channel's snippet by id or by handle ("@name" or "name"), one quota unit.

        Exactly one of ``channel_id``/``handle`` must be given (ValueError otherwise). A channel that
        does not exist raises IntegrationError(permanent=True, code="notFound").
        """
        if (channel_id is None) == (handle is None):
            raise ValueError("give exactly one of channel_id or handle")
        lookup = {"id": channel_id} if channel_id is not None else {"forHandle": handle}
        answer = self._execute(self._service.channels().list(part="snippet", **lookup), what="channels.list")
        items = answer.get("items") or []
        if not items:
            raise IntegrationError(f"YouTube channel {channel_id or handle} not found", permanent=True, code="notFound")
        return _parse_channel(items[0])

    def _execute(self, request: Any, *, what: str) -> dict[str, Any]:
        """Run one request, translating every failure into IntegrationError with the key redacted.

        Errors are raised ``from None``: HttpError's text carries the request URI with ``key=...``, and
        a chained traceback would put it in the logs.
        """
        try:
            answer = request.execute(num_retries=0)  # the task layer owns retries (and the quota)
        except HttpError as exc:
            raise _error_from_http(exc, what=what, api_key=self._api_key) from None
        except (OSError, httplib2.HttpLib2Error) as exc:  # timeouts, DNS, refused, reset, TLS
            message = _redact(f"YouTube {what} failed: {type(exc).__name__}: {exc}", self._api_key)
            code = "timeout" if isinstance(exc, TimeoutError) else "connectionError"
            raise IntegrationError(message, permanent=False, code=code) from None
        except ValueError:  # a 2xx whose body is not JSON
            raise IntegrationError(
                f"YouTube {what} returned an unreadable answer", permanent=True, code="malformedResponse"
            ) from None
        if not isinstance(answer, dict):
            raise IntegrationError(
                f"YouTube {what} returned an unreadable answer", permanent=True, code="malformedResponse"
            )
        return answer


def _parse_videos(items: Sequence[Any], *, wanted: set[str]) -> dict[str, VideoStats]:
    """Turn ``items`` into VideoStats keyed by id, ignoring anything we did not ask for."""
    videos: dict[str, VideoStats] = {}
    for item in items:
        if isinstance(item, dict) and item.get("id") in wanted:
            videos[item["id"]] = _parse_video(item)
    return videos


def _parse_video(item: Mapping[str, Any]) -> VideoStats:
    stats = item.get("statistics") or {}
    snippet = item.get("snippet") or {}
    return VideoStats(
        video_id=item["id"],
        views=_count(stats.get("viewCount")),
        likes=_count(stats.get("likeCount")),  # absent when the owner hides likes
        comments=_count(stats.get("commentCount")),  # absent when comments are disabled
        title=snippet.get("title") or "",
        description=snippet.get("description") or "",
        channel_id=snippet.get("channelId") or "",
        channel_title=snippet.get("channelTitle") or "",
        published_at=_timestamp(snippet.get("publishedAt")),
        thumbnail_url=_thumbnail(snippet.get("thumbnails")),
    )


# 320x180 first: the dashboard shows a small picture; the others when a video has no medium size.
_THUMBNAIL_SIZES = ("medium", "high", "default", "standard", "maxres")


def _thumbnail(thumbnails: Any) -> str | None:
    """snippet.thumbnails' medium picture (``{"medium": {"url": ...}}``) when it is an https URL, or
    None. Ingestion checks it again (tracking.platforms.items.thumbnail_url) before storing it."""
    if not isinstance(thumbnails, dict):
        return None
    for size in _THUMBNAIL_SIZES:
        entry = thumbnails.get(size)
        url = entry.get("url") if isinstance(entry, dict) else None
        if isinstance(url, str) and url.startswith("https://"):
            return url
    return None


def _parse_channel(item: Mapping[str, Any]) -> ChannelInfo:
    snippet = item.get("snippet") or {}
    return ChannelInfo(
        channel_id=item.get("id") or "",
        title=snippet.get("title") or "",
        description=snippet.get("description") or "",
        handle=snippet.get("customUrl") or None,
    )


def _count(value: Any) -> int | None:
    """YouTube sends counts as strings (uint64); anything unreadable is treated as not shown."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _timestamp(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _error_reasons(content: bytes | str | None) -> tuple[tuple[str, ...], str]:
    """Return every reason token in a Google error body (errors[].reason, then details[].reason) and
    its top-level message. Unparseable bodies give no reasons and an empty message.
    """
    try:
        error = json.loads(content or b"").get("error") or {}
    except (ValueError, AttributeError):
        return (), ""
    if not isinstance(error, dict):
        return (), ""
    entries = [*(error.get("errors") or []), *(error.get("details") or [])]
    reasons = tuple(e["reason"] for e in entries if isinstance(e, dict) and isinstance(e.get("reason"), str))
    return reasons, str(error.get("message") or "")


def _error_from_http(exc: HttpError, *, what: str, api_key: str) -> IntegrationError:
    """Classify an HttpError: quota → transient until the Pacific reset, bad key → permanent,
    throttling / 5xx → transient, any other 4xx → permanent.
    """
    status = int(getattr(exc.resp, "status", 0) or 0)
    ordered, vendor_message = _error_reasons(exc.content)
    reasons = set(ordered)
    code = ordered[0] if ordered else f"http{status}"
    # Vendor messages contain HTML for the quota case; keep the text short and readable.
    detail = re.sub(r"<[^>]+>", "", vendor_message)[:200]
    message = _redact(f"YouTube {what} failed with HTTP {status}: {detail}".rstrip(": "), api_key)
    if reasons & _QUOTA_REASONS:
        now = datetime.now(UTC)
        wait = (next_quota_reset(now) - now).total_seconds()
        return IntegrationError(message, permanent=False, retry_after=wait, code="quotaExceeded")
    if reasons & _KEY_REASONS or "api key not valid" in vendor_message.lower():
        return IntegrationError(message, permanent=True, code="keyInvalid")
    if reasons & _RATE_REASONS or status == 429 or status >= 500:
        return IntegrationError(message, permanent=False, code=code)
    return IntegrationError(message, permanent=True, code=code)


def _redact(text: str, api_key: str) -> str:
    """Remove the API key, and any ``key=`` query value, from text that may reach logs."""
    text = re.sub(r"([?&]key=)[^&\s\"']+", r"\1REDACTED", text)
    return text.replace(api_key, "REDACTED") if api_key else text


def youtube_client() -> YouTubeClient:
    """A YouTube client from settings; raises FeatureDisabled when YOUTUBE_API_KEY is unset."""
    if not settings.YOUTUBE_API_KEY:
        raise FeatureDisabled("YouTube is off: YOUTUBE_API_KEY is not set.")
    return YouTubeClient(api_key=settings.YOUTUBE_API_KEY, timeout_s=settings.YOUTUBE_HTTP_TIMEOUT_MS / 1000)
