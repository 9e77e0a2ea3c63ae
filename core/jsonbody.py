"""Reading JSON that strangers send: every way a body can be hostile becomes one ``BadJson`` with a
message a person can act on, never an exception deep in a view or a query.

Refused: bytes that are not UTF-8; text that is not JSON; nesting deeper than MAX_DEPTH (a body of
50,000 ``[`` would otherwise exhaust Python's recursion); NaN, Infinity and numbers too large for a
float (``1e400``); integers past 64 bits (no column holds them); unpaired surrogates (``"\\ud800"``:
valid JSON, but no UTF-8 encoder — PostgreSQL's included — accepts them) and NUL characters
(PostgreSQL text cannot hold them), in keys and values alike.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_INT_LIMIT = 2**64


class BadJson(ValueError):
    """The body is not JSON we accept; ``message`` says why, for the sender."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def loads(raw: bytes | str) -> Any:
    """Parse ``raw`` strictly (see the module docstring). Raises BadJson."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
    except UnicodeDecodeError:
        raise BadJson("The body is not UTF-8 text.") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except RecursionError:
        raise BadJson(f"The JSON is nested too deeply (at most {MAX_DEPTH} levels).") from None
    except BadJson:
        raise
    except ValueError:
        raise BadJson("The body is not valid JSON.") from None
    check(value)
    return value


def check(value: Any, depth: int = 0) -> None:
    """Raise BadJson for nesting past MAX_DEPTH, unpaired surrogates or NUL characters in ``value``."""
    if depth > MAX_DEPTH:
        raise BadJson(f"The JSON is nested too deeply (at most {MAX_DEPTH} levels).")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(str(key))
            check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check(item, depth + 1)


def _check_text(text: str) -> None:
    bad = _BAD_TEXT.search(text)
    if bad is None:
        return
    if bad.group() == "\x00":
        raise BadJson("Text in the body may not contain NUL (\\u0000) characters.")
    raise BadJson("Text in the body contains an unpaired surrogate (like \\ud800): send valid Unicode.")


def _no_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a number we accept; send a finite number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"The number {text[:20]} is too large.")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > 21:
        raise BadJson(f"The number {text[:20]}… is too large.")
    value = int(text)
    if not -_INT_LIMIT < value < _INT_LIMIT:
        raise BadJson(f"The number {text[:20]} is too large.")
    return value
