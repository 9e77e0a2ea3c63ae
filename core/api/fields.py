"""Serializer fields shared by the API's operations."""

from __future__ import annotations

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
