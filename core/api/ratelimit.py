"""Rate limits: django-ratelimit counters on the shared cache, exposed as DRF throttles so that a
429 carries Retry-After and the one error shape."""

from __future__ import annotations

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle

from core.client_ip import client_ip


def rate_limited(request, *, group: str, key: str, rate: str) -> int | None:
    """Count one hit; return seconds to wait when over ``rate``, else None."""
    usage = get_usage(request, group=group, key=lambda g, r: key, rate=rate, increment=True)
    if usage and usage["should_limit"]:
        return max(1, int(usage["time_left"]))
    return None


class RatelimitThrottle(BaseThrottle):
    """A DRF throttle counting ``group`` per ``key(request)`` at the rate named by ``rate_setting``."""

    group = ""
    rate_setting = ""

    def key(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view):
        key = self.key(request)
        if key is None:
            return True
        self._wait = rate_limited(request, group=self.group, key=key, rate=getattr(settings, self.rate_setting))
        return self._wait is None

    def wait(self):
        return self._wait


class IPThrottle(RatelimitThrottle):
    def key(self, request):
        return f"ip:{client_ip(request) or 'unknown'}"
