"""A local fake of the Apify REST API, for tests that exercise our client over real HTTP.

Speaks the shapes apify-client 3.x reads: ``{"data": run}`` for runs, bare JSON lists plus
``X-Apify-Pagination-*`` headers for dataset items, ``{"error": {"type", "message"}}`` for errors.

    server = FakeApifyServer().start()
    server.add_run("run1", status="SUCCEEDED", dataset_id="ds1", items=[{...}])
    server.fail("/v2/actor-runs/run1", 429, 200)          # one 429, then normal answers
    ApifyClient(token="t", base_url=server.base_url).get_run(run_id="run1")
    server.requests[-1].path, server.started_runs[0].webhooks

Import the pytest fixture in the conftest.py of the tests that use it (tests/integrations/,
tests/metrics/, tests/tracking/):  ``from tests.fakes.apify_server import apify_server``.
"""

from __future__ import annotations

import base64
import copy
import gzip
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

_RUN_TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "apify" / "apify_run.json"
_TERMINAL = {"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"}
_NO_LIMIT = 999_999_999_999  # what Apify reports as the limit when none was asked for


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (body already un-gzipped)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class StartedRun:
    """A POST /v2/acts/{actor}/runs (the SDK uses the /v2/actors/ alias): actor as addressed ("user~name"),
    its input and the decoded ad-hoc webhooks."""

    run_id: str
    actor_id: str
    input: Any
    webhooks: list[dict[str, Any]]
    query: dict[str, str]


@dataclass
class _Failure:
    status: int
    retry_after: str | None = None
    body: dict[str, Any] | None = None


@dataclass
class _State:
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, list[Any]] = field(default_factory=dict)
    failures: dict[str, deque[_Failure | None]] = field(default_factory=dict)
    always: dict[str, _Failure] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    actor_of: dict[str, str] = field(default_factory=dict)
    start_then_fail: list[int] = field(default_factory=list)


class FakeApifyServer:
    """Threaded fake Apify API on 127.0.0.1 with a random port. ``requests`` logs every request."""

    def __init__(self, *, expected_token: str | None = None):
        """With ``expected_token``, requests without ``Authorization: Bearer <it>`` get 401."""
        self.expected_token = expected_token
        self.requests: list[RecordedRequest] = []
        self.started_runs: list[StartedRun] = []
        # Called with each request, in the server's thread, while the caller waits for the answer.
        self.observers: list[Callable[[RecordedRequest], None]] = []
        self._state = _State()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------------------------------- lifecycle

    def start(self) -> FakeApifyServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-apify", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "call start() first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -------------------------------------------------------------------------------------- set-up

    def add_run(
        self,
        run_id: str,
        status: str = "SUCCEEDED",
        dataset_id: str | None = None,
        items: list[Any] | None = None,
        *,
        actor_id: str = "fakeActorId0001",
        status_message: str | None = None,
    ) -> dict[str, Any]:
        """Register a run (and its dataset, ``dataset_id`` defaulting to ``ds-<run_id>``); returns the run."""
        dataset_id = dataset_id or f"ds-{run_id}"
        run = _make_run(run_id, actor_id=actor_id, status=status, dataset_id=dataset_id, message=status_message)
        with self._lock:
            self._state.runs[run_id] = run
            self._state.datasets[dataset_id] = list(items or [])
        return run

    def set_run_status(self, run_id: str, status: str) -> None:
        with self._lock:
            run = self._state.runs[run_id]
            run["status"] = status
            run["finishedAt"] = _now_iso() if status in _TERMINAL else None

    def add_items(self, dataset_id: str, items: list[Any]) -> None:
        with self._lock:
            self._state.datasets.setdefault(dataset_id, []).extend(items)

    def fail(
        self,
        path: str,
        *statuses: int,
        retry_after: str | int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next requests to ``path`` with these statuses in turn (200 = answer normally)."""
        queue = self._state.failures.setdefault(path, deque())
        for status in statuses:
            failure = None if status < 300 else _Failure(status, _str_or_none(retry_after), body)
            queue.append(failure)

    def start_then_fail(self, status: int) -> None:
        """The next run start is performed (the run exists, paid for) but answered with ``status``:
        a 5xx or a lost answer after Apify accepted the request."""
        self._state.start_then_fail.append(status)

    def fail_always(self, path: str, status: int, *, retry_after: str | int | None = None) -> None:
        """Answer every request to ``path`` with ``status`` until ``clear_failures``."""
        self._state.always[path] = _Failure(status, _str_or_none(retry_after))

    def delay(self, path: str, seconds: float) -> None:
        """Wait ``seconds`` before answering requests to ``path`` (to provoke client timeouts)."""
        self._state.delays[path] = seconds

    def clear_failures(self) -> None:
        """Forget every injected failure and delay."""
        self._state.failures.clear()
        self._state.always.clear()
        self._state.delays.clear()

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # -------------------------------------------------------------------------------------- routing

    def _handle(self, request: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        for observe in self.observers:
            observe(request)
        with self._lock:
            self.requests.append(request)
            failure = self._next_failure(request.path)
            delay = self._state.delays.get(request.path, 0)
        if failure is not None:
            return _error(failure.status, failure.body, failure.retry_after)
        if self.expected_token and request.headers.get("authorization") != f"Bearer {self.expected_token}":
            return _error(401, {"type": "token-not-valid", "message": "Authentication token is not valid."})
        answer = _error(404, {"type": "page-not-found", "message": f"No route {request.method} {request.path}"})
        for method, pattern, route in _ROUTES:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                answer = route(self, request, *map(unquote, match.groups()))
                break
        if delay:  # the work is done (a run is started), the answer is late: a client may time out first
            time.sleep(delay)
        return answer

    def _next_failure(self, path: str) -> _Failure | None:
        if path in self._state.always:
            return self._state.always[path]
        queue = self._state.failures.get(path)
        return queue.popleft() if queue else None

    def _start_run(self, request: RecordedRequest, actor_id: str) -> tuple[int, dict[str, str], Any]:
        run_id = f"run{next(self._ids):04d}"
        run = self.add_run(run_id, status="READY", actor_id=f"id-{actor_id}")
        webhooks = json.loads(base64.b64decode(request.query["webhooks"])) if "webhooks" in request.query else []
        with self._lock:
            self.started_runs.append(StartedRun(run_id, actor_id, request.json(), webhooks, request.query))
            self._state.inputs[run_id] = request.json()
            self._state.actor_of[run_id] = actor_id
            then_fail = self._state.start_then_fail.pop(0) if self._state.start_then_fail else None
        if then_fail is not None:
            return _error(then_fail)
        return 201, {}, {"data": run}

    def _list_runs(self, request: RecordedRequest, actor_id: str) -> tuple[int, dict[str, str], Any]:
        """GET /v2/acts/{actor}/runs: the actor's runs, oldest first (startedAfter/startedBefore honoured)."""
        after, before = _when(request.query.get("startedAfter")), _when(request.query.get("startedBefore"))
        with self._lock:
            runs = [
                copy.deepcopy(self._state.runs[run_id])
                for run_id, actor in self._state.actor_of.items()
                if actor.replace("/", "~") == actor_id.replace("/", "~")
            ]
        runs = [
            r
            for r in runs
            if (after is None or _when(r["startedAt"]) >= after) and (before is None or _when(r["startedAt"]) <= before)
        ]
        page = {"total": len(runs), "offset": 0, "limit": 1000, "count": len(runs), "desc": False, "items": runs}
        return 200, {}, {"data": page}

    def _run_input(self, request: RecordedRequest, run_id: str) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            if run_id not in self._state.inputs:
                return _error(404, {"type": "record-not-found", "message": "Record was not found"})
            return 200, {}, self._state.inputs[run_id]

    def _get_run(self, request: RecordedRequest, run_id: str) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            run = copy.deepcopy(self._state.runs.get(run_id))
        if run is None:
            return _error(404, {"type": "record-not-found", "message": "Actor run was not found"})
        return 200, {}, {"data": run}

    def _dataset_items(self, request: RecordedRequest, dataset_id: str) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            items = self._state.datasets.get(dataset_id)
        if items is None:
            return _error(404, {"type": "record-not-found", "message": "Dataset was not found"})
        offset = int(request.query.get("offset", 0))
        limit = int(request.query.get("limit", _NO_LIMIT))
        page = items[offset : offset + limit]
        headers = {
            "X-Apify-Pagination-Offset": str(offset),
            "X-Apify-Pagination-Limit": str(limit),
            "X-Apify-Pagination-Count": str(len(page)),
            "X-Apify-Pagination-Total": str(len(items)),
            "X-Apify-Pagination-Desc": "false",
        }
        return 200, headers, page


_ROUTES = (
    ("POST", re.compile(r"/v2/(?:acts|actors)/([^/]+)/runs"), FakeApifyServer._start_run),
    ("GET", re.compile(r"/v2/(?:acts|actors)/([^/]+)/runs"), FakeApifyServer._list_runs),
    ("GET", re.compile(r"/v2/actor-runs/([^/]+)/key-value-store/records/INPUT"), FakeApifyServer._run_input),
    ("GET", re.compile(r"/v2/actor-runs/([^/]+)"), FakeApifyServer._get_run),
    ("GET", re.compile(r"/v2/datasets/([^/]+)/items"), FakeApifyServer._dataset_items),
)


def _handler_for(server: FakeApifyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def _serve(self) -> None:
            status, headers, payload = server._handle(self._recorded())
            body = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            # One request per connection, so stop() really stops: no kept-alive handler keeps answering.
            self.send_header("Connection", "close")
            self.close_connection = True
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _recorded(self) -> RecordedRequest:
            split = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":  # the SDK gzips bodies of 1 KiB and more
                body = gzip.decompress(body)
            query = {key: values[-1] for key, values in parse_qs(split.query).items()}
            headers = {key.lower(): value for key, value in self.headers.items()}
            return RecordedRequest(self.command, split.path, query, headers, body)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


def _make_run(run_id: str, *, actor_id: str, status: str, dataset_id: str, message: str | None) -> dict[str, Any]:
    """A Run object shaped like the real one (tests/fixtures/apify/apify_run.json), with our ids."""
    run = copy.deepcopy(json.loads(_RUN_TEMPLATE_PATH.read_text())["data"])
    run.update(
        id=run_id,
        actId=actor_id,
        status=status,
        statusMessage=message,
        startedAt=_now_iso(),
        finishedAt=_now_iso() if status in _TERMINAL else None,
        defaultDatasetId=dataset_id,
    )
    run["storageIds"]["datasets"]["default"] = dataset_id
    return run


def _error(status: int, body: dict[str, Any] | None = None, retry_after: str | None = None) -> tuple[int, dict, Any]:
    error = body or {"type": f"http-{status}", "message": f"Fake Apify answered {status}"}
    return status, ({"Retry-After": retry_after} if retry_after else {}), {"error": error}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _str_or_none(value: str | int | None) -> str | None:
    return None if value is None else str(value)


@pytest.fixture
def apify_server() -> Iterator[FakeApifyServer]:
    """A started FakeApifyServer, stopped after the test."""
    server = FakeApifyServer().start()
    try:
        yield server
    finally:
        server.stop()
