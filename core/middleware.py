"""Response security headers and the request body size limit.

Django's SecurityMiddleware already sends HSTS, ``X-Content-Type-Options: nosniff``, the
Referrer-Policy and ``Cross-Origin-Opener-Policy``; this adds a Content-Security-Policy and a
Permissions-Policy. The CSP is strict everywhere (``script-src 'self'``, no inline script; images from
``'self'``, ``data:`` and any ``https:`` host, for vendor thumbnails) except
under ``/admin/`` (Django admin uses inline style attributes) and ``/api/docs/`` (Swagger UI comes
from jsDelivr, with an inline ``<style>`` and init ``<script>``). A view that sets its own CSP keeps it.
"""

from __future__ import annotations

from django.conf import settings

from core.api.errors import error_response

# img-src allows any https: image: posts show the thumbnail their scrape returned, from each platform's
# CDN (tiktokcdn*.com, cdninstagram.com, fbcdn.net, pbs.twimg.com, i.ytimg.com, ...; hosts vary by region
# and change without notice). Only https URLs are ever stored (tracking.platforms.items.thumbnail_url);
# images run no script, and the pages send no Referer to those hosts (Referrer-Policy: same-origin).
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
ADMIN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# /api/docs/ is SpectacularSwaggerSplitView: its init script is served from our own URL, so
# script-src needs no 'unsafe-inline'; Swagger UI itself is our static copy (drf-spectacular-sidecar).
# Swagger UI sets inline styles, hence style-src 'unsafe-inline' on this page only (no user data).
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy (per area of the site) and Permissions-Policy to every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy_for(request.path))
        permissions = getattr(settings, "PERMISSIONS_POLICY", "") or PERMISSIONS_POLICY
        response.headers.setdefault("Permissions-Policy", permissions)
        return response

    @staticmethod
    def policy_for(path: str) -> str:
        if path.startswith("/admin/"):
            return getattr(settings, "CSP_ADMIN", "") or ADMIN_CSP
        if path.startswith("/api/docs"):
            return getattr(settings, "CSP_DOCS", "") or DOCS_CSP
        return getattr(settings, "CSP_DEFAULT", "") or DEFAULT_CSP


class RequestBodyLimitMiddleware:
    """Refuses a body larger than REQUEST_MAX_BODY_BYTES (multipart uploads: REQUEST_MAX_UPLOAD_BYTES)
    with 413, from its Content-Length, before anything reads it.

    A chunked body has no Content-Length; Django's DATA_UPLOAD_MAX_MEMORY_SIZE (same value) still
    refuses it when the view reads it, and the proxy's client_max_body_size bounds it first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return error_response(400, "bad_content_length", "The Content-Length header is not a number.")
        limit = self.limit_for(request)
        if length > limit:
            return error_response(
                413, "payload_too_large", f"The request body is larger than the {limit} bytes allowed."
            )
        if "\x00" in request.GET.urlencode(safe="") or "%00" in request.META.get("QUERY_STRING", ""):
            # PostgreSQL text cannot hold NUL: refuse it here rather than as a 500 deep in a query.
            return error_response(400, "nul_character", "The query string contains a NUL character (%00); remove it.")
        return self.get_response(request)

    @staticmethod
    def limit_for(request) -> int:
        if request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            return max(settings.REQUEST_MAX_UPLOAD_BYTES, settings.REQUEST_MAX_BODY_BYTES)
        return settings.REQUEST_MAX_BODY_BYTES
