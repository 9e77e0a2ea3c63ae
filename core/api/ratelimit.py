"""Rate limits: django-ratelimit counters on the shared cache, exposed as DRF throttles so that a
429 carries Retry-After and the one error shape.

When the cache is unreachable a limit either fails open (the request goes through, a warning is
logged) or, for limits that guard against guessing (login, invalid service keys: ``fail_closed``),
fails closed with ``RateLimitUnavailable`` (503: we cannot count, so we do not let guesses through).
The counters use the ``ratelimit`` cache alias, which raises on errors (the ``default`` alias
swallows them so that a cache outage is only a miss).
"""

from __future__ import annotations

import time

import structlog
from django.conf import settings
from django.core.cache import caches
from django_ratelimit import ALL
from django_ratelimit.core import _get_window, _make_cache_key, _split_rate, get_usage
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.throttling import BaseThrottle

from core.client_ip import client_ip

log = structlog.get_logger(__name__)


class RateLimitUnavailable(APIException):
    """A fail-closed limit could not be checked: 503 with a message saying to retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Rate limiting is temporarily unavailable, so this request is refused; try again shortly."
    default_code = "rate_limit_unavailable"


def rate_usage(request, *, group: str, key: str, rate: str, increment: bool = True, fail_closed: bool = False):
    """django-ratelimit's usage for ``group``/``key``; None when the cache is down and the limit fails
    open. Raises RateLimitUnavailable when it is down and the limit fails closed."""
    try:
        if increment:
            usage = get_usage(request, group=group, key=lambda g, r: key, rate=rate, increment=True)
        else:
            usage = _peek(group=group, key=key, rate=rate)
    except Exception:  # redis ConnectionError/TimeoutError and friends: the cache is down
        usage = {"count": 0, "limit": 0, "should_limit": True, "time_left": -1}
    if usage is not None and usage["time_left"] == -1 and usage["limit"] == 0:
        # django-ratelimit's own "the cache failed" answer, or ours above
        if fail_closed:
            log.warning("rate_limit_cache_down", group=group, outcome="refused")
            raise RateLimitUnavailable()
        log.warning("rate_limit_cache_down", group=group, outcome="allowed")
        return None
    return usage


def _peek(*, group: str, key: str, rate: str) -> dict:
    """``get_usage(increment=False)`` in one cache read: the same counter (django-ratelimit's own key,
    window and answer), read with GET where django-ratelimit sends ADD then GET, two Redis round trips
    on every request with a service key (issue 17). An absent counter is zero, as ADD would find."""
    limit, period = _split_rate(rate)
    window = _get_window(key, period)
    count = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")].get(
        _make_cache_key(group, window, rate, key, ALL), 0
    )
    return {"count": count, "limit": limit, "should_limit": count > limit, "time_left": window - int(time.time())}


def rate_limited(request, *, group: str, key: str, rate: str, fail_closed: bool = False) -> int | None:
    """Count one hit; return seconds to wait when over ``rate``, else None."""
    usage = rate_usage(request, group=group, key=key, rate=rate, fail_closed=fail_closed)
    if usage and usage["should_limit"]:
        return max(1, int(usage["time_left"]))
    return None


class RatelimitThrottle(BaseThrottle):
    """A DRF throttle counting ``group`` per ``key(request)`` at the rate named by ``rate_setting``."""

    group = ""
    rate_setting = ""
    fail_closed = False

    def key(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view):
        key = self.key(request)
        if key is None:
            return True
        rate = getattr(settings, self.rate_setting)
        self._wait = rate_limited(request, group=self.group, key=key, rate=rate, fail_closed=self.fail_closed)
        return self._wait is None

    def wait(self):
        return self._wait


class IPThrottle(RatelimitThrottle):
    def key(self, request):
        return f"ip:{client_ip(request) or 'unknown'}"
