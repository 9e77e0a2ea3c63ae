"""next_refresh_at: the cadence table, backoff, and when a post is never refreshed again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tracking.cadence import Cadence, next_refresh_at

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CADENCE = Cadence()  # the GuildBudgetConfig defaults and the default growth thresholds


@dataclass
class FakePost:
    age_h: float = 10
    views: int | None = 10_000
    growth_per_hour: float = 0.0
    failure_count: int = 0
    status: str = "tracking"
    counting_ends_at: datetime | None = None
    measured: bool = True

    @property
    def posted_at(self):
        return NOW - timedelta(hours=self.age_h)

    @property
    def submitted_at(self):
        return self.posted_at

    @property
    def metrics_updated_at(self):
        return NOW if self.measured else None


def delay(post) -> timedelta | None:
    due = next_refresh_at(post=post, now=NOW, budget=CADENCE)
    return None if due is None else due - NOW


@pytest.mark.parametrize(
    ("age_h", "views", "growth", "expected"),
    [
        (1, 100, 0, timedelta(minutes=60)),  # young: hourly whatever the growth
        (47, 10_000, 0, timedelta(minutes=60)),
        (72, 10_000, 500, timedelta(minutes=60)),  # hot (5 %/h) after 48 h: still hourly
        (72, 10_000, 50, timedelta(minutes=180)),  # growing (0.5 %/h)
        (72, 10_000, 5, timedelta(hours=24)),  # flat (0.05 %/h)
        (240, 10_000, 0.5, timedelta(hours=168)),  # dormant
        (
            72,
            50,
            10,
            timedelta(minutes=180),
        ),  # 20 %/h of 50 views, but on a 1000-view floor
    ],
)
def test_cadence_table(age_h, views, growth, expected):
    assert delay(FakePost(age_h=age_h, views=views, growth_per_hour=growth)) == expected


def test_a_post_never_measured_is_due_now():
    assert delay(FakePost(measured=False, views=None)) == timedelta(0)


def test_guild_intervals_come_from_its_budget_row():
    class Budget:
        young_post_hours, young_interval_minutes, growing_interval_minutes = 12, 30, 90
        flat_interval_hours, dormant_interval_hours, max_backoff_hours = 12, 48, 6

    assert next_refresh_at(post=FakePost(age_h=5), now=NOW, budget=Budget()) == NOW + timedelta(minutes=30)
    assert next_refresh_at(post=FakePost(age_h=20), now=NOW, budget=Budget()) == NOW + timedelta(hours=48)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (0, timedelta(hours=1)),
        (1, timedelta(hours=2)),
        (2, timedelta(hours=4)),
        (3, timedelta(hours=8)),
        (4, timedelta(hours=16)),
        (5, timedelta(hours=24)),
        (60, timedelta(hours=24)),
    ],
)
def test_failures_back_off_exponentially_up_to_the_cap(failures, expected):
    assert delay(FakePost(age_h=1, failure_count=failures)) == expected


def test_backoff_never_refreshes_a_dormant_post_sooner():
    assert delay(FakePost(age_h=240, growth_per_hour=0, failure_count=3)) == timedelta(hours=168)


def test_an_unavailable_post_backs_off_as_after_one_failure():
    assert delay(FakePost(age_h=1, status="unavailable")) == timedelta(hours=2)


@pytest.mark.parametrize("status", ["finalized", "rejected"])
def test_never_once_finalized_or_rejected(status):
    assert delay(FakePost(status=status)) is None


def test_never_after_the_counting_window():
    assert delay(FakePost(counting_ends_at=NOW)) is None
    assert delay(FakePost(counting_ends_at=NOW - timedelta(days=1))) is None


def test_last_refresh_is_when_the_counting_window_ends():
    ends = NOW + timedelta(minutes=20)
    assert delay(FakePost(age_h=1, counting_ends_at=ends)) == timedelta(minutes=20)


def test_the_default_cadence_is_the_budget_models_and_the_settings():
    """Cadence() is the pure-function stand-in for a guild's GuildBudgetConfig: one set of defaults."""
    from dataclasses import fields

    from django.conf import settings

    from guilds.models import GuildBudgetConfig

    model_defaults = {f.name: f.default for f in GuildBudgetConfig._meta.concrete_fields}
    cadence = Cadence()
    for f in fields(Cadence):
        if f.name in model_defaults:
            assert getattr(cadence, f.name) == model_defaults[f.name], f.name
    assert Cadence.of(None) == Cadence(
        views_floor=settings.SCHEDULER_GROWTH_VIEWS_FLOOR,
        hot_rate=settings.SCHEDULER_HOT_GROWTH_RATE,
        growing_rate=settings.SCHEDULER_GROWING_GROWTH_RATE,
        flat_rate=settings.SCHEDULER_FLAT_GROWTH_RATE,
    )
    assert Cadence.of(None) == cadence  # the settings' defaults are the dataclass's
