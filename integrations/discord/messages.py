"""Outgoing Discord message bodies: embeds cut to Discord's limits, and mentions that never ping.

Discord rejects a whole message (400) when any limit is exceeded, and a report that fails to post is
worse than a shortened one, so everything here truncates instead of raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000  # title + description + field names/values + footer, over all embeds
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_PER_EMBED = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
USERNAME_LIMIT = 80
MENTIONED_USERS_LIMIT = 100
EPHEMERAL_FLAG = 1 << 6

ZERO_WIDTH_SPACE = "\u200b"
_ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class Embed:
    """A rich embed. ``fields`` holds ``(name, value, inline)`` tuples; ``timestamp`` shows in the footer."""

    title: str = ""
    description: str = ""
    url: str = ""
    color: int | None = None
    fields: Sequence[tuple[str, str, bool]] = ()
    footer: str = ""
    timestamp: datetime | None = None

    def to_dict(self, *, budget: int = EMBED_TOTAL_LIMIT) -> dict[str, Any]:
        """Discord's JSON for this embed, each text cut to its limit and all of them to ``budget`` chars."""
        text = _Budget(budget)
        data: dict[str, Any] = {}
        _put(data, "title", text.take(self.title, TITLE_LIMIT))
        _put(data, "description", text.take(self.description, DESCRIPTION_LIMIT))
        _put(data, "fields", _fields(self.fields, text))
        footer = text.take(self.footer, FOOTER_LIMIT)
        if footer:
            data["footer"] = {"text": footer}
        _put(data, "url", self.url)
        if self.color is not None:
            data["color"] = self.color & 0xFFFFFF
        if self.timestamp is not None:
            data["timestamp"] = _iso(self.timestamp)
        return data


def message_payload(*, content: str, embeds: Iterable[Embed], mention_user_ids: Sequence[str] = ()) -> dict[str, Any]:
    """The body of a message create/edit call. Raises ``ValueError`` when there is nothing to send."""
    payload = {
        "content": safe_content(content),
        "embeds": embeds_payload(embeds),
        "allowed_mentions": allowed_mentions(mention_user_ids),
    }
    if not payload["content"] and not payload["embeds"]:
        raise ValueError("a Discord message needs content or at least one embed")
    return payload


def safe_content(content: str) -> str:
    """``content`` with @everyone/@here defused and cut to 2000 characters."""
    for mass_mention in ("@everyone", "@here"):
        content = content.replace(mass_mention, "@" + ZERO_WIDTH_SPACE + mass_mention[1:])
    return _truncate(content, CONTENT_LIMIT)


def allowed_mentions(user_ids: Sequence[str] = ()) -> dict[str, Any]:
    """Only the listed users may be pinged; never roles, @everyone or @here, whatever the text says."""
    mentions: dict[str, Any] = {"parse": []}
    if user_ids:
        mentions["users"] = list(dict.fromkeys(user_ids))[:MENTIONED_USERS_LIMIT]
    return mentions


def embeds_payload(embeds: Iterable[Embed]) -> list[dict[str, Any]]:
    """At most 10 embeds sharing one 6000-character budget; embeds that no longer fit are dropped."""
    rendered: list[dict[str, Any]] = []
    remaining = EMBED_TOTAL_LIMIT
    for embed in list(embeds)[:EMBEDS_PER_MESSAGE]:
        if remaining <= 0:
            break
        data = embed.to_dict(budget=remaining)
        remaining -= embed_chars(data)
        rendered.append(data)
    return rendered


def embed_chars(data: dict[str, Any]) -> int:
    """The characters of an embed dict that count towards Discord's 6000 total."""
    fields = sum(len(f["name"]) + len(f["value"]) for f in data.get("fields", ()))
    footer = len(data.get("footer", {}).get("text", ""))
    return len(data.get("title", "")) + len(data.get("description", "")) + fields + footer


class _Budget:
    """Characters left for the texts of one message's embeds."""

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining

    def take(self, text: str, limit: int) -> str:
        cut = _truncate(text, min(limit, self.remaining))
        self.remaining -= len(cut)
        return cut


def _fields(fields: Sequence[tuple[str, str, bool]], budget: _Budget) -> list[dict[str, Any]]:
    rendered = []
    for name, value, inline in list(fields)[:FIELDS_PER_EMBED]:
        if budget.remaining < 2:  # a field needs at least one character of name and of value
            break
        # Discord rejects empty names/values; a zero-width space keeps the field's layout.
        name_text = budget.take(name or ZERO_WIDTH_SPACE, min(FIELD_NAME_LIMIT, budget.remaining - 1))
        value_text = budget.take(value or ZERO_WIDTH_SPACE, FIELD_VALUE_LIMIT)
        rendered.append({"name": name_text, "value": value_text, "inline": bool(inline)})
    return rendered


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return (text[: limit - 1] + _ELLIPSIS) if limit > 0 else ""


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    if value:
        data[key] = value


def _iso(moment: datetime) -> str:
    # Naive datetimes are taken as UTC: the project stores UTC everywhere.
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()
