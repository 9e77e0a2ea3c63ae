"""The API's JSON renderer: DRF's, plus JSON text that is already written (``RawJSON``).

A list built from columns (core/api/rows.py) can have PostgreSQL write each row's JSON text, the same
text DRF would write for the serializer's values; parsing it into dicts only to encode it again cost
more than the whole rest of a list request (issue 17). ``RawJSON`` carries that text through the
response, as the body itself or as one value of a top-level object (the paginated envelope's
``results``), and this renderer writes it as it is into DRF's own output.

Only where DRF's output is compact and not ASCII-escaped (its defaults, the API's settings) and no
indent was asked for (``Accept: application/json; indent=4``, the browsable API) is the text used as
it is; anywhere else it is parsed and rendered by DRF like any other value, so the body never depends
on which way it was built.
"""

from __future__ import annotations

import json
import secrets

from rest_framework import renderers


class RawJSON:
    """JSON text written elsewhere (one JSON value). Reads like the value it holds (``==``, ``[i]``,
    ``len``, iteration), parsed on first use, so code that looks at ``response.data`` still works."""

    __slots__ = ("_value", "text")

    def __init__(self, text: str):
        self.text = text
        self._value = None

    @property
    def value(self):
        if self._value is None:
            self._value = json.loads(self.text)
        return self._value

    def __eq__(self, other):
        return self.value == (other.value if isinstance(other, RawJSON) else other)

    __hash__ = None

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        return iter(self.value)

    def __getitem__(self, key):
        return self.value[key]

    def __repr__(self):
        return f"RawJSON({self.text[:60]!r}{'...' if len(self.text) > 60 else ''})"


def _parsed(data):
    if isinstance(data, RawJSON):
        return data.value
    if isinstance(data, dict):
        return {k: v.value if isinstance(v, RawJSON) else v for k, v in data.items()}
    return data


def _holds_raw(data) -> bool:
    return isinstance(data, RawJSON) or (isinstance(data, dict) and any(isinstance(v, RawJSON) for v in data.values()))


def _js_safe(text: str) -> str:
    # What DRF's JSONRenderer does to its whole output: U+2028/U+2029 are valid JSON but end a line in JS.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSONRenderer, which also writes ``RawJSON`` (the body, or a value of a top-level object)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if not _holds_raw(data):
            return super().render(data, accepted_media_type, renderer_context)
        as_is = (
            self.compact
            and not self.ensure_ascii
            and not self.get_indent(accepted_media_type or "", renderer_context or {})
        )
        if not as_is:
            return super().render(_parsed(data), accepted_media_type, renderer_context)
        if isinstance(data, RawJSON):
            return _js_safe(data.text).encode()
        # The envelope is DRF's output with a placeholder string per raw value, swapped for the text.
        token = secrets.token_hex(16)
        raw = {f"{token}:{i}": v.text for i, v in enumerate(v for v in data.values() if isinstance(v, RawJSON))}
        names = iter(raw)
        envelope = {k: next(names) if isinstance(v, RawJSON) else v for k, v in data.items()}
        out = super().render(envelope, accepted_media_type, renderer_context)
        for name, text in raw.items():
            out = out.replace(f'"{name}"'.encode(), _js_safe(text).encode(), 1)
        return out
