"""OpenAPI: every operation documents its errors in the one shape, and id ranges in paths."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import SAFE_METHODS

from core.api.errors import ErrorSerializer
from core.snowflakes import MAX_ID

_ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `fields` says which.",
    "401": "Missing, invalid, expired or revoked credentials.",
    "403": "Authenticated, but not allowed (missing scope, not a guild administrator, CSRF).",
    "404": "Not found - also for another guild's objects and guilds you cannot access.",
    "409": "Conflicts with the current state.",
    "429": "Rate limited; see Retry-After.",
}


class ApiAutoSchema(AutoSchema):
    """Adds the error responses (one shape) each operation can give."""

    def _error_codes(self) -> list[str]:
        codes = ["400"]
        if self.view.get_authenticators():
            codes += ["401", "403"]
        if "{" in self.path or self.view.get_authenticators():
            codes.append("404")
        if self.method not in SAFE_METHODS:
            codes.append("409")
        # throttled endpoints, and any endpoint taking service keys (an address that keeps presenting
        # invalid keys is refused with 429 before authentication)
        if self.view.get_throttles() or any(
            getattr(a, "may_refuse_with_429", False) for a in self.view.get_authenticators()
        ):
            codes.append("429")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = _ERROR_DESCRIPTIONS[code]
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) == "429":
            headers["Retry-After"] = {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        return headers


def postprocess_id_parameters(result, generator, request, public):
    """drf-spectacular hook: integer ids in paths are 1..2^63-1 (what the ``id`` URL converter
    accepts), so clients and fuzzers know the range."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for param in operation.get("parameters", []):
                schema = param.get("schema", {})
                if param.get("in") == "path" and schema.get("type") == "integer":
                    schema.update({"minimum": 1, "maximum": MAX_ID})
    return result
