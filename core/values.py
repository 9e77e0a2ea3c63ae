"""Values as people type them and as JSON stores them: one place for both.

``json_safe`` is the one conversion of model values to JSON (audit before/after, staged rows, API
snapshots). The cleaners (``whole_number``, ``money``, ``flag``) read what a form or a JSON body sent
and raise ``ValueError`` with the message to show; services collect those into ``FieldsRefused``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def json_safe(value: Any) -> Any:
    """Model values → JSON values: datetimes and dates as ISO 8601, Decimals as strings (never floats),
    containers recursively, anything else unknown as its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return str(value)


def snapshot(instance: Any, fields: Any) -> dict[str, Any]:
    """``{field: json_safe(value)}`` of a model instance, for audit before/after."""
    return {f: json_safe(getattr(instance, f)) for f in fields}


class FieldsRefused(ValueError):
    """Input a service refuses; ``fields`` maps each field to a message a person can act on.
    Nothing was written when it is raised."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def whole_number(value: Any, *, low: int, high: int) -> int:
    """``value`` (an int or the digits a form sent) as an int in low..high; ValueError(message) if not."""
    message = f"Must be a whole number from {low:,} to {high:,}."
    if isinstance(value, bool):
        raise ValueError(message)
    if isinstance(value, str):
        value = value.strip().replace(",", "")
        if not re.fullmatch(r"-?\d{1,20}", value):
            raise ValueError(message)
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(message)
    return value


def money(value: Any, *, high_digits: int) -> Decimal:
    """A non-negative amount with at most 2 decimals and ``high_digits`` digits before the point."""
    message = f"Must be an amount from 0 to {'9' * high_digits}.99 with at most 2 decimals, like 25.00."
    if isinstance(value, bool) or value is None:
        raise ValueError(message)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(message) from None
    if not amount.is_finite() or amount < 0 or amount >= 10**high_digits or amount != amount.quantize(CENT):
        raise ValueError(message)
    return amount.quantize(CENT)


def flag(value: Any) -> bool:
    """A yes/no value: a JSON boolean (forms give Python booleans too)."""
    if not isinstance(value, bool):
        raise ValueError("Must be true or false.")
    return value


def a_or_an(word: str) -> str:
    """ "Instagram" → "an Instagram", "TikTok" → "a TikTok", "X" → "an X" (a letter said "ex")."""
    vowel_sound = word[:1].lower() in "aeiou" or (len(word) == 1 and word.lower() in "fhlmnrsx")
    return f"{'an' if vowel_sound else 'a'} {word}"


def post_title(*, caption: str, author_handle: str, platform_label: str, words: int = 8, chars: int = 60) -> str:
    """How people recognise a post: its caption's first words, else its author's handle and platform."""
    text = " ".join((caption or "").split()[:words])
    if text:
        more = len((caption or "").split()) > words or len(text) > chars
        return (text[: chars - 1].rstrip() if len(text) > chars else text) + ("…" if more else "")
    return f"@{author_handle} on {platform_label}" if author_handle else f"{platform_label} post"
