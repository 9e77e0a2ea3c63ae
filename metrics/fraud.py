"""Signals on new measurements: what a person should look at before a post is paid.

Pure functions: ``detect_signals`` compares a post's previous point with its new one and returns
findings; ``metrics.ingestion.ingest_items`` stores them (FraudSignal rows, the post flagged with the
reason, one logs-channel message) in the same bulk pass. Nothing here changes a payout.

Thresholds (module constants, chosen from what organic short-video growth looks like):

- **Spike without engagement**: at least ``SPIKE_MIN_VIEWS_GAINED`` (10,000) views gained since the
  previous point while likes + comments gained are under ``SPIKE_MAX_ENGAGEMENT_RATE`` (0.2 %) of the
  views gained. Organic TikTok/Instagram/X growth brings 2-10 % likes per view; bought views bring
  almost none. Skipped when likes and comments are both unknown (hidden) in either point.
- **Count decreased**: views dropped by more than ``max(VIEWS_DROP_MIN_ABS, VIEWS_DROP_MIN_RATIO ×
  previous)`` (100 views or 1 %); likes or comments dropped by more than ``max(ENGAGEMENT_DROP_MIN_ABS,
  ENGAGEMENT_DROP_MIN_RATIO × previous)`` (50 or 10 %: people do un-like). When either point was
  rounded by the platform ("1.2K"), ``ROUNDED_SLACK_RATIO`` (5 %) is added to the ratio, because
  "1.2K" covers 1,150-1,249.
- **Unavailable**: the platform says the post is gone, private or restricted (from the scraper's
  error row, or an id YouTube no longer returns).
- **Ownership**: the first scrape's author is not the linked profile (``ownership_finding``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracking.models import FraudSignal

SPIKE_MIN_VIEWS_GAINED = 10_000
SPIKE_MAX_ENGAGEMENT_RATE = 0.002
VIEWS_DROP_MIN_ABS = 100
VIEWS_DROP_MIN_RATIO = 0.01
ENGAGEMENT_DROP_MIN_ABS = 50
ENGAGEMENT_DROP_MIN_RATIO = 0.10
ROUNDED_SLACK_RATIO = 0.05

Kind = FraudSignal.Kind


@dataclass(frozen=True)
class Point:
    """One measurement of a post, as far as the signals care."""

    views: int | None
    likes: int | None
    comments: int | None
    at: datetime | None = None
    rounded: bool = False


@dataclass(frozen=True)
class Finding:
    """Something to review: a FraudSignal kind and a sentence a moderator can act on."""

    kind: str
    reason: str

    @property
    def flags_post(self) -> bool:
        """Unavailable posts get their own status; every other finding flags the post for review."""
        return self.kind != Kind.UNAVAILABLE


def detect_signals(*, previous: Point | None, current: Point) -> list[Finding]:
    """Findings for ``current`` compared with ``previous`` (None for a post's first point)."""
    if previous is None:
        return []
    findings = [f for f in (_spike(previous, current), _decrease(previous, current)) if f is not None]
    return findings


def unavailable_finding(*, error: str) -> Finding:
    return Finding(Kind.UNAVAILABLE, f"The platform says the post is gone or private ({error[:200]}).")


def ownership_finding(*, author: str, profile_handle: str) -> Finding:
    return Finding(Kind.OWNERSHIP_MISMATCH, f"Author @{author} is not the linked profile @{profile_handle}")


def _spike(previous: Point, current: Point) -> Finding | None:
    if previous.views is None or current.views is None:
        return None
    gained = current.views - previous.views
    if gained < SPIKE_MIN_VIEWS_GAINED:
        return None
    engagement = _gained(previous.likes, current.likes)
    comments = _gained(previous.comments, current.comments)
    if engagement is None and comments is None:
        return None  # likes and comments hidden: nothing to compare with
    engaged = (engagement or 0) + (comments or 0)
    if engaged >= gained * SPIKE_MAX_ENGAGEMENT_RATE:
        return None
    return Finding(
        Kind.SPIKE_WITHOUT_ENGAGEMENT,
        f"+{gained:,} views with only +{engaged:,} likes and comments since the previous measurement.",
    )


def _decrease(previous: Point, current: Point) -> Finding | None:
    slack = ROUNDED_SLACK_RATIO if (previous.rounded or current.rounded) else 0.0
    checks = (
        ("views", previous.views, current.views, VIEWS_DROP_MIN_ABS, VIEWS_DROP_MIN_RATIO + slack),
        ("likes", previous.likes, current.likes, ENGAGEMENT_DROP_MIN_ABS, ENGAGEMENT_DROP_MIN_RATIO + slack),
        ("comments", previous.comments, current.comments, ENGAGEMENT_DROP_MIN_ABS, ENGAGEMENT_DROP_MIN_RATIO + slack),
    )
    drops = [
        f"{name} {before:,} → {after:,}"
        for name, before, after, min_abs, ratio in checks
        if before is not None and after is not None and before - after > max(min_abs, ratio * before)
    ]
    if not drops:
        return None
    return Finding(Kind.COUNT_DECREASED, "Counts went down: " + ", ".join(drops) + ".")


def _gained(before: int | None, after: int | None) -> int | None:
    if before is None or after is None:
        return None
    return max(0, after - before)
