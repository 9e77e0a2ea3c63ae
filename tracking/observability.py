"""Prometheus metrics: what the process counts, what a scrape computes, and who may scrape.

Counted in the process (cheap, on every request):

- ``td_http_requests_total{method,route,status}`` and ``td_http_request_duration_seconds{method,route}``,
  labelled by the URL *pattern* (``request.resolver_match.route``), never the raw path; a request no
  pattern matched is ``route="unmatched"``.
- ``td_webhooks_total{source,outcome,reason}``: webhook code calls :func:`count_webhook` for accepted
  deliveries; rejections recorded with ``record_security_event(kind="webhook_rejected", ...)`` are
  counted automatically (a receiver of ``security_event_recorded``), so do not count those twice.

Computed at scrape time from the database (a few constant queries, under an explicit RLS bypass):
Apify runs by status, today's budget use per guild, scheduler lag, and the Celery queue depth
(``LLEN celery`` when CELERY_BROKER_URL is a Redis URL). A collector that fails reports
``td_collector_up{collector=...} 0`` instead of failing the whole scrape.

Every label is bounded, and the bounds do not reset when gunicorn recycles a worker:

- ``method``: the standard HTTP methods; anything else (``FOO``, ``PROPFIND``) is ``"other"``.
- ``route``: the URL *patterns* of the URLconf, enumerated once from the resolver (a static list);
  ``"unmatched"`` for a path no pattern matched, ``"other"`` for anything outside the list.
- ``status``: the standard HTTP status codes, else ``"other"``.
- webhook ``source`` / ``outcome`` / ``reason`` and scrape-time labels: :class:`LabelCap` (at most
  200 values, the overflow is ``"other"``). In multiprocess mode a new worker seeds its caps from the
  series already in PROMETHEUS_MULTIPROC_DIR (the files outlive recycled workers), so the total stays
  near the cap instead of growing by one cap per recycled worker.

Several gunicorn workers: each worker counts its own requests. With ``PROMETHEUS_MULTIPROC_DIR`` set
(an empty directory, wiped by gunicorn.conf.py at start) prometheus_client's multiprocess mode sums
the workers' counters at scrape time; without it a scrape sees only the worker that answered.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus

import structlog
from django.conf import settings
from django.db.models import Count, Min
from django.dispatch import receiver
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_structlog import signals as structlog_signals
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric

from core.client_ip import client_ip
from core.tenancy import rls_bypass
from dashboard_auth.models import SecurityEvent
from dashboard_auth.signals import security_event_recorded
from guilds.budgets import usage_day
from guilds.models import BotHealth, GuildApiUsage
from integrations.bot.health import heartbeat_age
from integrations.models import ApifyRunRegistry, WebhookDelivery
from tracking.models import Post

log = structlog.get_logger(__name__)

OTHER = "other"
LABEL_LIMIT = 200


class LabelCap:
    """Admits at most ``limit`` distinct values of one label; any further value becomes ``"other"``.

    Values already admitted stay admitted, so a series never changes its label mid-life. ``seed``
    (called once, on first use) returns values admitted by earlier processes. Thread-safe (gunicorn
    threads, the scrape thread).
    """

    def __init__(self, limit: int, *, seed: Callable[[], Iterable[str]] | None = None) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._seed = seed

    def _load_seed(self) -> None:
        seed, self._seed = self._seed, None
        try:
            self._seen.update(sorted(set(seed()) - {OTHER})[: self.limit])
        except Exception:  # an unreadable directory: start empty rather than break a request
            log.warning("metrics_label_seed_failed", exc_info=True)

    def __call__(self, value: str) -> str:
        value = str(value)
        if value in self._seen:
            return value
        with self._lock:
            if self._seed is not None:
                self._load_seed()
            if value in self._seen or len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return OTHER


class StaticLabels:
    """Admits only values of a fixed list (computed once, lazily); anything else is ``"other"``.

    Nothing is learnt at run time, so the bound is the same in every process and after every restart.
    """

    def __init__(self, values: Callable[[], Iterable[str]]) -> None:
        self._values = values
        self._allowed: frozenset[str] | None = None

    def allowed(self) -> frozenset[str]:
        if self._allowed is None:
            self._allowed = frozenset(self._values())
        return self._allowed

    def __call__(self, value: str) -> str:
        value = str(value)
        return value if value in self.allowed() else OTHER


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
UNMATCHED = "unmatched"


def _join_routes(prefix: str, route: str) -> str:
    # as django.urls.resolvers.URLResolver._join_route builds ResolverMatch.route
    return prefix + (route[1:] if route.startswith("^") else route)


def url_routes(patterns=None, prefix: str = "") -> Iterator[str]:
    """Every route pattern the URLconf can report as ``request.resolver_match.route``."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = _join_routes(prefix, str(entry.pattern)) if prefix else str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def _series_label_values(metric: str, label: str) -> Callable[[], set[str]]:
    """Label values already on disk in multiprocess mode (workers before this one), else none."""

    def read() -> set[str]:
        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not path:
            return set()
        values = set()
        for family in multiprocess.MultiProcessCollector(None, path=path).collect():
            if family.name == metric:
                values.update(s.labels[label] for s in family.samples if label in s.labels)
        return values

    return read


# prometheus_client decides at import time whether values live in memory or in the multiprocess
# directory (PROMETHEUS_MULTIPROC_DIR); the metric objects are the same either way.
_REGISTRY = CollectorRegistry(auto_describe=True)
_caps = {
    "route": StaticLabels(lambda: {*url_routes(), UNMATCHED}),
    "method": StaticLabels(lambda: HTTP_METHODS),
    "status": StaticLabels(lambda: {str(int(code)) for code in HTTPStatus}),
    "webhook_source": LabelCap(LABEL_LIMIT, seed=_series_label_values("td_webhooks", "source")),
    "webhook_outcome": StaticLabels(lambda: {"accepted", "rejected"}),
    "webhook_reason": LabelCap(LABEL_LIMIT, seed=_series_label_values("td_webhooks", "reason")),
}

HTTP_REQUESTS = Counter(
    "td_http_requests",
    "HTTP requests answered, by route pattern, method and status code.",
    ["method", "route", "status"],
    registry=_REGISTRY,
)
HTTP_LATENCY = Histogram(
    "td_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and method.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=_REGISTRY,
)
WEBHOOKS = Counter(
    "td_webhooks",
    "Inbound webhook deliveries, by source and outcome (accepted | rejected) with the rejection reason.",
    ["source", "outcome", "reason"],
    registry=_REGISTRY,
)

_DIGITS = re.compile(r"\b\w*\d\w*\b")


def _reason_label(reason: str) -> str:
    """A short, low-cardinality form of a reason: words holding digits (ids, counts) become '#'."""
    return _DIGITS.sub("#", reason.strip())[:80]


def count_webhook(source: str, outcome: str, reason: str = "") -> None:
    """Count one webhook delivery. ``outcome`` is "accepted" or "rejected".

    Rejections stored through ``record_security_event(kind="webhook_rejected")`` are counted
    already; call this for accepted deliveries (and rejections that are not security events).
    Never raises.
    """
    try:
        WEBHOOKS.labels(
            source=_caps["webhook_source"](source or "unknown"),
            outcome=_caps["webhook_outcome"](outcome),
            reason=_caps["webhook_reason"](_reason_label(reason)),
        ).inc()
    except Exception:  # metrics must never break a webhook
        log.warning("metrics_count_webhook_failed", exc_info=True)


@receiver(security_event_recorded, dispatch_uid="tracking.observability.webhook_rejected")
def _count_rejected_webhook(sender, kind: str, source: str, reason: str, **kwargs) -> None:
    if kind == SecurityEvent.Kind.WEBHOOK_REJECTED:
        count_webhook(source, "rejected", reason)


@receiver(structlog_signals.bind_extra_request_metadata, dispatch_uid="tracking.observability.client_ip")
def _bind_client_ip(request, logger, log_kwargs, **kwargs) -> None:
    """Log the client IP as rate limits and audits see it (X-Forwarded-For only from our proxies)."""
    structlog.contextvars.bind_contextvars(ip=client_ip(request))


class MetricsMiddleware:
    """Counts every request and its latency by route pattern. Sits right after django-structlog's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        try:
            match = getattr(request, "resolver_match", None)
            route = _caps["route"](match.route if match is not None and match.route else UNMATCHED)
            method = _caps["method"](request.method or "")
            HTTP_REQUESTS.labels(method=method, route=route, status=_caps["status"](response.status_code)).inc()
            HTTP_LATENCY.labels(method=method, route=route).observe(elapsed)
        except Exception:  # never let a metric turn a good response into a 500
            log.warning("metrics_count_request_failed", exc_info=True)
        return response


# ---------------------------------------------------------------------------------------------
# Scrape-time collectors
# ---------------------------------------------------------------------------------------------
def _apify_runs() -> Iterator[Metric]:

    with rls_bypass(reason="metrics scrape: apify runs"):
        counts = dict(ApifyRunRegistry.objects.values_list("status").annotate(n=Count("id")).order_by())
    family = GaugeMetricFamily("td_apify_runs", "Apify runs in the registry, by status.", labels=["status"])
    cap = LabelCap(LABEL_LIMIT)
    for status in sorted({*ApifyRunRegistry.Status.values, *counts}):
        family.add_metric([cap(status)], counts.get(status, 0))
    yield family


def _budget_use() -> Iterator[Metric]:

    with rls_bypass(reason="metrics scrape: budget use"):
        rows = list(
            GuildApiUsage.objects.filter(day=usage_day())
            .order_by("-apify_run_count", "-youtube_quota_used", "guild_id")
            .values_list("guild_id", "apify_run_count", "youtube_quota_used")
        )
    runs = GaugeMetricFamily("td_guild_apify_runs_today", "Apify runs started today, per guild.", labels=["guild"])
    units = GaugeMetricFamily(
        "td_guild_youtube_quota_used_today", "YouTube quota units used today, per guild.", labels=["guild"]
    )
    cap, totals = LabelCap(LABEL_LIMIT), {}  # busiest guilds first: they keep their own label
    for guild_id, apify, youtube in rows:
        label = cap(str(guild_id))
        previous = totals.get(label, (0, 0))
        totals[label] = (previous[0] + apify, previous[1] + youtube)
    for label, (apify, youtube) in totals.items():
        runs.add_metric([label], apify)
        units.add_metric([label], youtube)
    yield runs
    yield units


def _scheduler_lag() -> Iterator[Metric]:

    now = timezone.now()
    with rls_bypass(reason="metrics scrape: scheduler lag"):
        oldest = Post.objects.due_for_refresh(now).aggregate(oldest=Min("next_refresh_at"))["oldest"]
    lag = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    yield GaugeMetricFamily(
        "td_scheduler_lag_seconds", "Seconds since the oldest post due for a refresh became due (0: none due).", lag
    )


def _celery_queue_depth() -> Iterator[Metric]:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return  # no broker (in-process mode) or not Redis: nothing to measure
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        depth = client.llen("celery")
    finally:
        client.close()
    family = GaugeMetricFamily("td_celery_queue_depth", "Tasks waiting in a Celery queue.", labels=["queue"])
    family.add_metric(["celery"], depth)
    yield family


def _bot_health() -> Iterator[Metric]:
    health = BotHealth.objects.filter(pk=1).first() or BotHealth()  # a scrape reads, never writes
    age = heartbeat_age(health)
    status = GaugeMetricFamily("td_bot_status", "1 for the Discord bot's current status.", labels=["status"])
    for value in BotHealth.Status.values:
        status.add_metric([value], 1 if health.status == value else 0)
    yield status
    yield GaugeMetricFamily(
        "td_bot_heartbeat_age_seconds",
        "Seconds since the bot's last heartbeat (-1: it never sent one).",
        age.total_seconds() if age is not None else -1,
    )


def _webhook_backlog() -> Iterator[Metric]:
    state = WebhookDelivery.State
    counts = dict(
        WebhookDelivery.objects.filter(state__in=(state.TO_PROCESS, state.PROCESSING, state.FAILED))
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    family = GaugeMetricFamily(
        "td_webhook_deliveries", "Accepted webhook deliveries not done, by state.", labels=["state"]
    )
    for value in (state.TO_PROCESS, state.PROCESSING, state.FAILED):
        family.add_metric([value], counts.get(value, 0))
    yield family


SCRAPE_COLLECTORS = {
    "bot_health": _bot_health,
    "webhook_backlog": _webhook_backlog,
    "apify_runs": _apify_runs,
    "budget_use": _budget_use,
    "scheduler_lag": _scheduler_lag,
    "celery_queue": _celery_queue_depth,
}


class _ScrapeTimeCollector:
    """Runs each scrape-time collector; one that fails is reported as down, the others still count."""

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("td_collector_up", "1 when a scrape-time collector worked.", labels=["collector"])
        for name, collect in SCRAPE_COLLECTORS.items():
            try:
                families = list(collect())
            except Exception:
                log.warning("metrics_collector_failed", collector=name, exc_info=True)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


class _ProcessCollector:
    def collect(self) -> Iterable[Metric]:
        return _REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    """A registry for one scrape: this process's counters (or every worker's, in multiprocess mode)
    plus the scrape-time collectors."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    registry.register(_ScrapeTimeCollector())
    return registry


__all__ = ["LabelCap", "MetricsMiddleware", "StaticLabels", "count_webhook", "scrape_registry"]
