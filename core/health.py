"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import structlog
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

log = structlog.get_logger(__name__)


@require_GET
def healthz(request):
    """The process answers. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any driver error means "not ready"
        log.warning("readyz_database_down", exc_info=True)
        return False


def _cache_ok() -> bool:
    try:
        cache.set("readyz", "1", timeout=5)
        return cache.get("readyz") == "1"
    except Exception:
        log.warning("readyz_cache_down", exc_info=True)
        return False


@require_GET
def readyz(request):
    """Database and cache reachable: 200; otherwise 503 naming what failed."""
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    failed = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "ok" if not failed else "unavailable",
        "checks": {k: "ok" if v else "down" for k, v in checks.items()},
    }
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)
