"""Operations endpoints: the Prometheus scrape (the security dashboard API is dashboard_auth/security_api.py)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.health import database_ok
from tracking.observability import scrape_registry


def _bearer_matches(request, expected: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), expected.encode())


@require_GET
def metrics(request):
    """Prometheus text format. Off (404) without OBSERVABILITY_TOKEN; 401 without the right bearer."""
    token = settings.OBSERVABILITY_TOKEN
    if not token:
        raise Http404("Metrics are off (OBSERVABILITY_TOKEN is not set).")
    if not _bearer_matches(request, token):
        response = HttpResponse(
            "Send Authorization: Bearer <OBSERVABILITY_TOKEN>.\n", status=401, content_type="text/plain; charset=utf-8"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not database_ok():  # answer within the probe's connect timeout, not the pool's 10 s per collector
        return HttpResponse(
            "The database is unreachable; see /readyz.\n", status=503, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
