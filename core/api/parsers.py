"""Request body parsers for the REST API. Their own module: DRF imports them while it starts, before
any view module may be imported."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser


class StrictJSONParser(JSONParser):
    """JSON bodies, refusing NUL characters anywhere in keys or strings: PostgreSQL text cannot hold
    them, so they would otherwise surface as a 500 from whichever query first meets them."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _has_nul(data):
            raise exceptions.ParseError("Text in the body may not contain NUL (\\u0000) characters.")
        return data


class StrictFormParser(FormParser):
    """Form bodies, refusing NUL characters (see StrictJSONParser)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if any(_has_nul(k) or any(_has_nul(v) for v in data.getlist(k)) for k in data):
            raise exceptions.ParseError("Text in the body may not contain NUL (%00) characters.")
        return data


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
