"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py tracking.wsgi``.

Read from the environment:

- PORT (8000) and HOST (0.0.0.0; use 127.0.0.1 behind a proxy on the same machine): where to listen.
- WEB_CONCURRENCY: caps the worker count, which is otherwise 2 x CPU cores + 1.
- GUNICORN_TIMEOUT (30 s): a worker silent for this long is killed and restarted.
- GUNICORN_GRACEFUL_TIMEOUT (30 s): on SIGTERM/SIGHUP, how long workers may finish the requests in
  flight before they are killed. Keep it below the process manager's stop timeout (systemd's
  TimeoutStopSec, Kubernetes' terminationGracePeriodSeconds).
- GUNICORN_MAX_REQUESTS (50,000): a worker is replaced after this many requests, plus a random jitter
  of up to half as many, so workers are recycled rarely and one at a time; a new worker imports the
  URLconf and views before its first request (``post_worker_init``), not during it.
- GUNICORN_ACCESS_LOG (false): Django already logs every request as JSON with its request id; set true
  for gunicorn's own access log, also as JSON lines: every value is JSON-escaped (``JsonAccessLogger``),
  so a quote, backslash or newline in a path cannot break or split a line.
- PROMETHEUS_MULTIPROC_DIR: turns on prometheus_client's multiprocess mode so /metrics sums every
  worker; the directory is created and emptied at start.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
from pathlib import Path

from gunicorn.glogging import Logger, SafeAtoms

_BRAND_REPORT = re.compile(r"(/brand-report/)[^/\s\"'?#]+")  # brand report links carry their secret


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1")
    return value


def worker_count(cpu_count: int, cap: int | None) -> int:
    """2 x cores + 1, never more than ``cap`` (WEB_CONCURRENCY) when it is set."""
    workers = 2 * max(1, cpu_count) + 1
    return min(workers, cap) if cap else workers


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8000)}"  # noqa: S104  (containers; HOST narrows it)
workers = worker_count(multiprocessing.cpu_count(), _int("WEB_CONCURRENCY", 0) or None)
worker_class = "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5  # behind nginx, which reuses upstream connections
# Recycle workers now and then (bounded memory growth), rarely and never together: at 2,000 a busy
# server restarted a worker every few seconds, each restart costing seconds of throughput (issue 17).
max_requests = _int("GUNICORN_MAX_REQUESTS", 50_000)
max_requests_jitter = max_requests // 2
limit_request_line = 8190
limit_request_fields = 100
# The heartbeat file on tmpfs: a worker on a slow disk is not mistaken for a stuck one.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108  (gunicorn's documented advice)
# X-Forwarded-Proto/For are interpreted by Django (SECURE_PROXY_SSL_HEADER, tracking/client_ip.py).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
capture_output = False


class JsonSafeAtoms(SafeAtoms):
    """Access-log atoms escaped for a JSON string (gunicorn only escapes double quotes)."""

    def __init__(self, atoms):  # replaces SafeAtoms' quote-only escaping; its look-ups stay
        atoms = {k: _BRAND_REPORT.sub(r"\1[redacted]", v) if isinstance(v, str) else v for k, v in atoms.items()}
        dict.__init__(self, {k: json.dumps(v)[1:-1] if isinstance(v, str) else v for k, v in atoms.items()})


class JsonAccessLogger(Logger):
    """gunicorn's logger, with access-log values that stay inside their JSON strings."""

    atoms_wrapper_class = JsonSafeAtoms


logger_class = JsonAccessLogger
if os.environ.get("GUNICORN_ACCESS_LOG", "").lower() in ("1", "true", "yes", "on"):
    accesslog = "-"
    access_log_format = (
        '{"event": "gunicorn_access", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
        '"status": %(s)s, "bytes": "%(B)s", "duration_us": %(D)s}'
    )
else:
    accesslog = None

_multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if _multiproc_dir:  # before any worker imports prometheus_client or the settings check the directory
    Path(_multiproc_dir).mkdir(parents=True, exist_ok=True)


def on_starting(server) -> None:
    """Empty the metrics directory: counters from a previous run must not be summed into this one."""
    if _multiproc_dir:
        shutil.rmtree(_multiproc_dir, ignore_errors=True)
        Path(_multiproc_dir).mkdir(parents=True, exist_ok=True)


def post_worker_init(worker) -> None:
    """Import the URLconf, and with it every view module, before the worker accepts a request: Django
    does it on a worker's first request otherwise, and that caller waited seconds for it (every start
    and every recycle, issue 17)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the lookup is the import


def child_exit(server, worker) -> None:
    """Let prometheus_client drop a dead worker's live gauges."""
    if _multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
