"""Signals on new measurements: what a person should look at before a post is paid.

Pure functions: ``detect_signals`` compares a post's previous point with its new one and returns
findings; ``metrics.ingestion.ingest_items`` stores them (FraudSignal rows, the post flagged with the
reason, one logs-channel message) in the same bulk pass. Nothing here changes a payout.

Thresholds are per guild (``Thresholds``, from the guild's ``fraud_*`` settings, edited on the
dashboard's settings page and in the guild settings API); the defaults (guilds.models
FRAUD_THRESHOLD_DEFAULTS) are chosen from what organic short-video growth looks like:

- **Spike without engagement**: at least ``spike_min_views`` (10,000) views gained since the previous
  point while likes + comments gained are under ``spike_max_engagement_pct`` (0.2 %) of the views
  gained. Organic TikTok/Instagram/X growth brings 2-10 % likes per view; bought views bring almost
  none. Skipped when likes and comments are both unknown (hidden) in either point.
- **Count decreased**: views dropped by more than ``max(views_drop_min, views_drop_pct × previous)``
  (100 views or 1 %); likes or comments dropped by more than ``max(engagement_drop_min,
  engagement_drop_pct × previous)`` (50 or 10 %: people do un-like). When either point was rounded
  by the platform ("1.2K"), ``ROUNDED_SLACK_PCT`` (5 %) is added to the percentage, because "1.2K"
  covers 1,150-1,249: that is the platforms' display precision, not a guild's policy, so it stays a
  constant.
- **Unavailable**: the platform says the post is gone, private or restricted (from the scraper's
  error row, or an id YouTube no longer returns).
- **Ownership**: the first scrape's author is not the linked profile (``ownership_finding``).

Each finding's reason names the numbers (views gained and the share of them liked or commented; each
drop and its percentage). The reason reaches the creator, so it does not name the thresholds (that
would tell how to stay under them); the review queue shows them beside it (tracking.review.reasons_for).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from guilds.models import FRAUD_THRESHOLD_DEFAULTS, Guild
from tracking.models import FraudSignal

ROUNDED_SLACK_PCT = Decimal("5")

Kind = FraudSignal.Kind


@dataclass(frozen=True)
class Thresholds:
    """One guild's fraud thresholds (the guild's ``fraud_<name>`` settings); percentages are percent."""

    spike_min_views: int
    spike_max_engagement_pct: Decimal
    views_drop_min: int
    views_drop_pct: Decimal
    engagement_drop_min: int
    engagement_drop_pct: Decimal

    @classmethod
    def of(cls, values: dict[str, Any]) -> Thresholds:
        """From ``{"fraud_<name>": value}`` (a guild's settings, or FRAUD_THRESHOLD_DEFAULTS)."""
        return cls(**{f.name: values[f"fraud_{f.name}"] for f in fields(cls)})

    @classmethod
    def for_guild(cls, guild_id: int) -> Thresholds:
        """The guild's thresholds, in one query (the defaults for a guild that does not exist)."""
        names = [f"fraud_{f.name}" for f in fields(cls)]
        row = Guild.objects.filter(pk=guild_id).values(*names).first()
        return cls.of(row or FRAUD_THRESHOLD_DEFAULTS)


DEFAULT_THRESHOLDS = Thresholds.of(FRAUD_THRESHOLD_DEFAULTS)


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


def detect_signals(
    *, previous: Point | None, current: Point, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Finding]:
    """Findings for ``current`` compared with ``previous`` (None for a post's first point), measured
    against the guild's ``thresholds``."""
    if previous is None:
        return []
    checks = (_spike(previous, current, thresholds), _decrease(previous, current, thresholds))
    return [f for f in checks if f is not None]


def unavailable_finding(*, error: str) -> Finding:
    return Finding(Kind.UNAVAILABLE, f"The platform says the post is gone or private ({error[:200]}).")


def ownership_finding(*, author: str, profile_handle: str) -> Finding:
    return Finding(Kind.OWNERSHIP_MISMATCH, f"Author @{author} is not the linked profile @{profile_handle}")


def _spike(previous: Point, current: Point, limits: Thresholds) -> Finding | None:
    if previous.views is None or current.views is None:
        return None
    gained = current.views - previous.views
    if gained < limits.spike_min_views:
        return None
    engagement = _gained(previous.likes, current.likes)
    comments = _gained(previous.comments, current.comments)
    if engagement is None and comments is None:
        return None  # likes and comments hidden: nothing to compare with
    engaged = (engagement or 0) + (comments or 0)
    if engaged * 100 >= gained * limits.spike_max_engagement_pct:
        return None
    return Finding(
        Kind.SPIKE_WITHOUT_ENGAGEMENT,
        f"+{gained:,} views with only +{engaged:,} likes and comments since the previous measurement"
        f" ({_rate(engaged, gained)} of the views gained).",
    )


def _decrease(previous: Point, current: Point, limits: Thresholds) -> Finding | None:
    slack = ROUNDED_SLACK_PCT if (previous.rounded or current.rounded) else Decimal(0)
    views = (limits.views_drop_min, limits.views_drop_pct + slack)
    engagement = (limits.engagement_drop_min, limits.engagement_drop_pct + slack)
    checks = (
        ("views", previous.views, current.views, *views),
        ("likes", previous.likes, current.likes, *engagement),
        ("comments", previous.comments, current.comments, *engagement),
    )
    drops = [
        f"{name} {before:,} → {after:,} (-{_rate(before - after, before)})"
        for name, before, after, min_count, pct in checks
        if before is not None and after is not None and (before - after) * 100 > max(min_count * 100, pct * before)
    ]
    if not drops:
        return None
    return Finding(Kind.COUNT_DECREASED, "Counts went down: " + ", ".join(drops) + ".")


def _rate(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole`` for a reason: "0.005 %", "0 %", "under 0.001 %"."""
    if part == 0:
        return "0 %"
    text = f"{part * 100 / whole:.3f}".rstrip("0").rstrip(".")
    return "under 0.001 %" if text == "0" else f"{text} %"


def _gained(before: int | None, after: int | None) -> int | None:
    if before is None or after is None:
        return None
    return max(0, after - before)
