from datetime import UTC, datetime

import pytest

from integrations.youtube.client import next_quota_reset


def test_summer_reset_is_midnight_pacific_daylight_time():
    assert next_quota_reset(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_winter_reset_is_midnight_pacific_standard_time():
    assert next_quota_reset(datetime(2026, 1, 15, 9, 0, tzinfo=UTC)) == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)


def test_just_after_utc_midnight_the_reset_is_still_the_same_pacific_day():
    # 01:00 UTC on 3 July is 18:00 on 2 July in Los Angeles.
    assert next_quota_reset(datetime(2026, 7, 3, 1, 0, tzinfo=UTC)) == datetime(2026, 7, 3, 7, 0, tzinfo=UTC)


def test_exactly_at_reset_the_next_one_is_a_day_later():
    at_reset = datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    assert next_quota_reset(at_reset) == datetime(2026, 7, 3, 7, 0, tzinfo=UTC)


def test_day_dst_starts_is_23_hours_long():
    # 8 March 2026: clocks go forward in Los Angeles; the next midnight is 07:00 UTC.
    assert next_quota_reset(datetime(2026, 3, 8, 9, 0, tzinfo=UTC)) == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)


def test_result_is_aware_utc():
    assert next_quota_reset(datetime(2026, 7, 1, tzinfo=UTC)).tzinfo is UTC


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        next_quota_reset(datetime(2026, 7, 1))
