"""The caption rules a brief carries — required tags and banned words — as a client account and a
campaign both store them: one normalisation for both services (tracking.client_accounts,
tracking.campaigns), so a rule typed on either reads the same to the caption check.

Each function takes a list of texts, or the text a form sent (one per line, or separated by commas),
and returns the normalised list, or raises ValueError with a message a person can act on."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

MAX_LIST_ITEMS = 100
_TAG = re.compile(r"[#@][\w.]{1,99}")


def list_items(value: Any, what: str) -> list[str]:
    """A list of strings, or the text a form sent (one per line, or separated by commas): NFKC,
    spaces collapsed, empty and repeated items dropped, at most MAX_LIST_ITEMS of 100 characters."""
    if isinstance(value, str):
        value = re.split(r"[,\n]", value)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"Give the {what} as a list of texts.")
    items = [" ".join(unicodedata.normalize("NFKC", v).split()) for v in value]
    items = list(dict.fromkeys(v for v in items if v))
    if len(items) > MAX_LIST_ITEMS:
        raise ValueError(f"At most {MAX_LIST_ITEMS} {what}.")
    if any(len(v) > 100 for v in items):
        raise ValueError(f"Each of the {what} has at most 100 characters.")
    return items


def required_tags(value: Any) -> list[str]:
    """Hashtags and mentions, lower-cased, each with its # or @ (a bare word is a hashtag, as the
    caption check reads it), without duplicates."""
    tags = [t.lower() if t[0] in "#@" else f"#{t.lower()}" for t in list_items(value, "required tags")]
    bad = [t for t in tags if not _TAG.fullmatch(t)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a tag: use #tag or @mention (letters, digits, _ and . only).")
    return list(dict.fromkeys(tags))


def banned_words(value: Any) -> list[str]:
    """Words or phrases, each kept in its first spelling; repeats in another case dropped."""
    first_spelling: dict[str, str] = {}
    for word in list_items(value, "banned words"):
        first_spelling.setdefault(word.lower(), word)
    return list(first_spelling.values())
