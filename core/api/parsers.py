"""Request body parsers for the REST API. Their own module: DRF imports them while it starts, before
any view module may be imported."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from core import jsonbody


class StrictJSONParser(JSONParser):
    """JSON bodies read by core.jsonbody: too deep, non-finite, unpaired surrogates and NUL characters
    are a 400 with the reason, never a 500 from whichever code or query first meets them."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw:
            raise exceptions.ParseError("The body is empty; send a JSON object.")
        try:
            return jsonbody.loads(raw)
        except jsonbody.BadJson as error:
            raise exceptions.ParseError(error.message) from None


class StrictFormParser(FormParser):
    """Form bodies, refusing NUL characters and unpaired surrogates (see StrictJSONParser)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            for key in data:
                jsonbody.check([key, *data.getlist(key)])
        except jsonbody.BadJson as error:
            raise exceptions.ParseError(error.message) from None
        return data


class StrictMultiPartParser(MultiPartParser):
    """Multipart bodies, refusing NUL characters and unpaired surrogates in their text fields."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        try:
            for key in parsed.data:
                jsonbody.check([key, *parsed.data.getlist(key)])
        except jsonbody.BadJson as error:
            raise exceptions.ParseError(error.message) from None
        return parsed
