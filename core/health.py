"""Liveness and readiness probes for load balancers and orchestrators.

Probes answer fast when a dependency is down: the database is probed on a fresh connection with a
PROBE_CONNECT_TIMEOUT_SECONDS connect timeout (never through the pool, whose wait is 10 s), the cache
through its own 2 s socket timeouts. ``/metrics`` uses the same database probe before it scrapes.
"""

from __future__ import annotations

import psycopg
import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

log = structlog.get_logger(__name__)


@require_GET
def healthz(request):
    """The process answers. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def probe_params() -> dict | None:
    """Connection parameters for a one-off probe connection (PostgreSQL), else None (SQLite)."""
    if connection.vendor != "postgresql":
        return None
    params = connection.get_connection_params()
    params["connect_timeout"] = settings.PROBE_CONNECT_TIMEOUT_SECONDS
    return params


def database_ok() -> bool:
    """SELECT 1 answers. On PostgreSQL on a fresh connection that gives up after the probe timeout."""
    try:
        params = probe_params()
        if params is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                return cursor.fetchone() == (1,)
        with psycopg.connect(**params) as probe:
            return probe.execute("SELECT 1").fetchone() == (1,)
    except Exception:  # any driver error means "not ready"
        log.warning("readyz_database_down", exc_info=True)
        return False


def cache_ok() -> bool:
    """A write and a read through the cache. The cache ignores its own errors (a miss, never a
    500), so an unreachable cache shows up as the value not coming back."""
    try:
        cache.set("readyz", "1", timeout=5)
        if cache.get("readyz") == "1":
            return True
        log.warning("readyz_cache_down", detail="the cache did not return what was just written")
    except Exception:
        log.warning("readyz_cache_down", exc_info=True)
    return False


@require_GET
def readyz(request):
    """Database and cache reachable: 200; otherwise 503 naming what failed."""
    checks = {"database": database_ok(), "cache": cache_ok()}
    failed = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "ok" if not failed else "unavailable",
        "checks": {k: "ok" if v else "down" for k, v in checks.items()},
    }
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)
