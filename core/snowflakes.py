"""Discord ids ("snowflakes") and our own row ids in URLs.

Discord ids are 64-bit integers; servers and users created since mid-2022 have 19 digits. We store
guild ids in PostgreSQL ``bigint`` (signed), so every id we accept is at most 2^63 - 1: anything
larger could not be stored or compared and is refused as "not an id" rather than overflowing later.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

MAX_ID = 2**63 - 1
# Discord's first snowflakes (2015) have 17 digits; 15 leaves room for test and legacy ids.
SNOWFLAKE_MIN_DIGITS = 15
SNOWFLAKE_MAX_DIGITS = 19
SNOWFLAKE_RULE = "A Discord id is 15 to 19 digits (right-click it in Discord, Copy ID)"

_DIGITS = re.compile(r"[0-9]+")


def parse_id(value: object) -> int | None:
    """A positive id that fits a signed 64-bit integer, from an int or a string of digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value) and len(value) <= SNOWFLAKE_MAX_DIGITS:
        number = int(value)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def is_snowflake(value: object) -> bool:
    """A Discord id as Discord sends it: a string of 15–19 digits that fits a signed 64-bit integer."""
    return (
        isinstance(value, str)
        and SNOWFLAKE_MIN_DIGITS <= len(value) <= SNOWFLAKE_MAX_DIGITS
        and parse_id(value) is not None
    )


@deconstructible
class SnowflakeValidator:
    """Model and form validator for Discord ids stored as text (channel and user ids)."""

    message = SNOWFLAKE_RULE + "."

    def __call__(self, value: object) -> None:
        if not is_snowflake(value):
            raise ValidationError(self.message, code="invalid_snowflake")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SnowflakeValidator)

    def __hash__(self) -> int:
        return hash(SnowflakeValidator)


validate_snowflake = SnowflakeValidator()


class IdConverter:
    """``<id:...>`` in URLs: our row ids and Discord guild ids, 1 to 2^63 - 1. Anything else does
    not match the route (404) instead of overflowing a bigint in a query or the RLS cast."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError("not an id")
        return number

    def to_url(self, value) -> str:
        return str(value)


class SnowflakeConverter(IdConverter):
    """``<snowflake:...>``: a Discord id kept as text (user ids)."""

    regex = "[0-9]{15,19}"

    def to_python(self, value: str) -> str:  # type: ignore[override]
        if not is_snowflake(value):
            raise ValueError("not a Discord id")
        return value
