"""The one error shape of every API answer, and the handlers that produce it.

Every error is ``{"error": {"code": str, "message": str, "fields": {field: [message, ...]}}}`` —
DRF exceptions (exception handler), Django's 404/500 for /api/ paths (handler404/handler500), and
responses built outside DRF (middleware, the Discord and webhook views: ``error_response``).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler as drf_exception_handler


class ApiError(exceptions.APIException):
    """An error with our own code and, optionally, per-field messages."""

    def __init__(self, message: str, *, code: str, status: int = 400, fields: dict | None = None):
        super().__init__(detail=message, code=code)
        self.status_code = status
        self.error_code = code
        self.fields = fields or {}


class Conflict(ApiError):
    def __init__(self, message: str, *, code: str = "conflict", fields: dict | None = None):
        super().__init__(message, code=code, status=409, fields=fields)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable reason, e.g. not_found, invalid, rate_limited.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per-field messages for invalid input (empty otherwise).",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"field" or "field.sub": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out[prefix or "non_field_errors"] = [str(v) for v in detail]
        else:
            for i, value in enumerate(detail):
                out.update(_flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc, context):
    """DRF's handler, reshaped to the one error shape. Unknown exceptions propagate (→ 500 handler)."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=serializers.as_serializer_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()), None)
        message = (
            f"{first[0]}: {first[1][0]}"
            if first and first[0] != "non_field_errors"
            else (first[1][0] if first else "The request is not valid.")
        )
        body = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        body = error_body("rate_limited", f"Too many requests; try again in {wait} seconds.")
        response["Retry-After"] = str(max(1, wait))
    else:
        code = getattr(exc, "default_code", None) or _CODES.get(response.status_code, "error")
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, str):
            code = codes
        body = error_body(code, str(exc.detail) if hasattr(exc, "detail") else str(exc))
    response.data = body
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    """JSON 404 for /api/ paths (wire as ``handler404`` in the root URLconf); HTML elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    """JSON 500 for /api/ paths; the traceback is logged, never sent."""
    if _is_api(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side; it was logged."), status=500)
    from django.views.defaults import server_error

    return server_error(request)


def error_response(status: int, code: str, message: str, fields: dict | None = None, **kwargs) -> JsonResponse:
    """A JsonResponse in the one error shape, for views and middleware outside DRF."""
    return JsonResponse(error_body(code, message, fields), status=status, **kwargs)
