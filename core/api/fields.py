"""Serializer fields shared by the API's operations."""

from __future__ import annotations

from datetime import date

from rest_framework import serializers

from core.snowflakes import SNOWFLAKE_RULE, is_snowflake


class SnowflakeField(serializers.CharField):
    """A Discord id as Discord sends it: text of 15 to 19 digits within a signed 64-bit integer."""

    default_error_messages = {"invalid_snowflake": SNOWFLAKE_RULE + "."}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 19)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not is_snowflake(value):
            self.fail("invalid_snowflake")
        return value


# Dates an API query may name: far enough back for any history, far enough ahead for any plan, and
# away from the edges of Python's calendar (9999-12-31 plus a day, or 0001-01-01 in a time zone
# west of UTC, would overflow instead of answering).
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


class BoundedDateField(serializers.DateField):
    """A date from 2000-01-01 to 2100-12-31, refused with that range otherwise."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "A date (YYYY-MM-DD) from 2000-01-01 to 2100-12-31.")
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise serializers.ValidationError(f"Give a date from {EARLIEST_DATE} to {LATEST_DATE}.")
        return day
