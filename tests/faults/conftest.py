"""Real processes for the fault tests (marked ``faults``): a fake Apify API process, gunicorn, and
either Celery worker + beat on Redis with PostgreSQL (``celery_stack``) or the embedded default,
SQLite and ``manage.py track`` (``embedded_stack``). Every process logs to its own file in the
test's tmp dir, runs in its own session, listens on 127.0.0.1 only, and is killed at teardown
whatever happened. Waits are bounded; a timeout fails with the tail of every process's log.

The PostgreSQL stack migrates a template database once per pytest worker
(``<DATABASE_URL's name>_faults_tpl_<worker>``), copies it for each test and drops the copy after;
its processes connect as a login role that is neither superuser nor BYPASSRLS
(``<name>_faults_app``), so row-level security applies to them as in production. The Celery broker
is Redis database FAULTS_REDIS_DB (default TEST_REDIS_DB_OFFSET + 2, i.e. 12) + worker, flushed
before and after each test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_NOT_INHERITED = ("DJANGO_", "DATABASE_", "REDIS_", "VALKEY_", "CELERY_", "APIFY_", "WEBHOOK_", "PYTEST_")


@pytest.fixture(scope="session", autouse=True)
def _app_role_exists():
    """These tests use no test database (they bring their own), so pytest-django creates none when they
    run alone: the suite-wide grant of tests/conftest.py has nothing to grant on."""


# ------------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------------


class Proc:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path):
        self.name, self.argv, self.log = name, argv, log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603 - our own commands
            argv, env=env, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole process group (gunicorn's and Celery's children too)."""
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self._out.close()


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc: no psutil needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: Any = None, timeout: float = 5) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, None
    except OSError:
        return 0, None


class FaultApify:
    """The control side of tests/faults/apify_process.py."""

    def __init__(self, port: int):
        self.base_url = f"http://127.0.0.1:{port}"

    def fault(self, name: str, **body: Any) -> None:
        status, _ = http("POST", f"{self.base_url}/_fault/{name}", body)
        assert status == 200, f"the fake Apify refused fault {name}: {status}"

    def state(self) -> dict[str, Any]:
        status, state = http("GET", f"{self.base_url}/_fault/state")
        assert status == 200, "the fake Apify does not answer"
        return state


class Stack:
    """The processes of one test, their logs, and bounded waits that show the logs on failure."""

    def __init__(self, tmp: Path, app_env: dict[str, str], owner_env: dict[str, str]):
        self.tmp, self.procs = tmp, {}
        self.python = PYTHON
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        apify_port_file = tmp / "apify.port"
        self.start("apify", [PYTHON, "-m", "tests.faults.apify_process", str(apify_port_file)], _clean_env())
        self.wait_for(lambda: apify_port_file.exists() and apify_port_file.read_text(), 20, "the fake Apify to start")
        self.apify = FaultApify(int(apify_port_file.read_text()))
        common = {
            **_clean_env(),
            "DJANGO_SETTINGS_MODULE": "tracking.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "fault-tests-secret-key-" + "k" * 40,
            "JWT_SECRET": "fault-tests-jwt-secret-" + "j" * 20,
            "API_SECRET": "fault-tests-api-secret-" + "a" * 20,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "APIFY_API_TOKEN": "fault-tests-apify-token",
            "APIFY_API_BASE_URL": self.apify.base_url,
            "APIFY_WEBHOOK_SIGNING_SECRET": "fault-tests-webhook-signing-" + "s" * 20,
            "PUBLIC_BASE_URL": self.base_url,
            "WEBHOOK_ALLOWED_ORIGINS": "api.apify.com",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "INFO",
            # Short clocks, so each recovery shows within seconds (README, "Recovery guarantees").
            "WEBHOOK_DELIVERY_LEASE_SECONDS": "10",
            "WEBHOOK_DELIVERY_SWEEP_GRACE_SECONDS": "3",
            "APIFY_HTTP_TIMEOUT_MS": "3000",
            "APIFY_MAX_RETRIES": "1",
            "APIFY_RETRY_DELAY_MS": "200",
            "APIFY_START_SETTLE_SECONDS": "1",
            "APIFY_RUN_POLL_AFTER_SECONDS": "4",
            "APIFY_RUN_POLL_INTERVAL_SECONDS": "2",
            "CELERY_TASK_TIME_LIMIT_SECONDS": "60",
        }
        self.app_env = {**common, **app_env}
        self.owner_env = {**common, **owner_env}

    # --- processes ---------------------------------------------------------------------------

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        proc = Proc(name, argv, env if env is not None else self.app_env, log, ROOT)
        self.procs[name] = proc
        return proc

    def gunicorn(self, **env: str) -> Proc:
        proc = self.start(
            "gunicorn",
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--no-control-socket", "tracking.wsgi"],
            {**self.app_env, **env},
        )
        self.wait_for(lambda: http("GET", f"{self.base_url}/healthz")[0] == 200, 30, "gunicorn to answer /healthz")
        return proc

    def celery(self, name: str, *args: str, **env: str) -> Proc:
        return self.start(name, [str(BIN / "celery"), "-A", "tracking", *args], {**self.app_env, **env})

    def worker(self, name: str = "worker") -> Proc:
        proc = self.celery(name, "worker", "--pool", "solo", "-l", "info", "-n", f"{name}@%h", "--without-mingle")
        self.wait_for(lambda: "ready" in proc.tail(200), 40, f"the Celery {name} to be ready")
        return proc

    def beat(self) -> Proc:
        return self.celery("beat", "beat", "-l", "info", "--schedule", str(self.tmp / "beat-schedule"))

    def manage(self, *args: str, timeout: float = 120) -> str:
        """``manage.py`` (or ``-m tests.faults.app_state``) as the owner role; its stdout."""
        argv = [PYTHON, *args] if args[0] == "-m" else [PYTHON, "manage.py", *args]
        done = subprocess.run(  # noqa: S603 - our own command
            argv, env=self.owner_env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            pytest.fail(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def seed(self, posts: int) -> dict[str, Any]:
        return json.loads(self.manage("-m", "tests.faults.app_state", "seed", str(posts)).splitlines()[-1])

    def probe(self) -> dict[str, Any]:
        return json.loads(self.manage("-m", "tests.faults.app_state", "probe").splitlines()[-1])

    def start_runs(self) -> str:
        """One refresh-planning cycle, as beat or ``track`` would run it: starts the Apify runs."""
        out = self.manage("refresh_metrics")
        assert "Started 1 Apify runs" in out, f"the cycle did not start one run:\n{out}"
        return out

    # --- waiting -----------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], Any], seconds: float, what: str, every: float = 0.3) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(every)
        apify = self.apify.state() if hasattr(self, "apify") else {}
        pytest.fail(
            f"Timed out after {seconds:.0f} s waiting for {what}.\nFake Apify: {apify}\n{self.logs()}", pytrace=False
        )

    def wait_state(self, check: Callable[[dict], bool], seconds: float, what: str) -> dict[str, Any]:
        """Probe the database until ``check(state)``; on timeout the last state and the logs."""
        last: dict[str, Any] = {}

        def ready() -> bool:
            nonlocal last
            last = self.probe()
            return check(last)

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if ready():
                return last
            time.sleep(1)
        pytest.fail(
            f"Timed out after {seconds:.0f} s waiting for {what}.\nLast state: {json.dumps(last, indent=1)}\n"
            f"Fake Apify: {json.dumps(self.apify.state())}\n{self.logs()}",
            pytrace=False,
        )

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} (pid {p.pid}, {'alive' if p.alive() else 'dead'}) ---\n{p.tail()}"
            for p in self.procs.values()
        )

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.kill()


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ------------------------------------------------------------------------------------------------
# The two stacks
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def embedded_stack(tmp_path) -> Iterator[Stack]:
    """The embedded default: SQLite in the test's tmp dir, no broker, ``manage.py track`` as worker."""
    db = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    stack = Stack(tmp_path, db, db)
    try:
        stack.manage("migrate", "--noinput")
        yield stack
    finally:
        stack.stop()


def _pg_urls(name: str, user: str | None = None) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    netloc = parts.netloc if user is None else f"{user}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, f"/{name}", "", ""))


def _psql(sql: str) -> None:

    with psycopg.connect(_pg_urls("postgres"), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory) -> str:
    """A migrated database to copy per test, and the restricted login role the processes use."""
    if not (settings.DATABASE_IS_POSTGRES and settings.REDIS_URL):
        pytest.skip("needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL); the embedded cases run without")
    base = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    template, role = f"{base}_faults_tpl_{WORKER}", f"{base}_faults_app"
    _psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$;"
    )
    _psql(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
    _psql(f"CREATE DATABASE {template}")
    env = {**_clean_env(), "DJANGO_DEBUG": "true", "DATABASE_URL": _pg_urls(template), "DATABASE_APP_ROLE": role}
    done = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "migrate", "--noinput"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"migrating {template} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    yield template
    _psql(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")


@pytest.fixture
def celery_stack(pg_template, tmp_path, request) -> Iterator[Stack]:
    """PostgreSQL (a fresh copy of the template) + Redis broker; start gunicorn, workers and beat in
    the test (each case needs them at different moments)."""

    base = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    name, role = f"{base}_faults_{WORKER}", f"{base}_faults_app"
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _psql(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    redis_parts = urlsplit(settings.REDIS_URL)
    base_db = int(os.environ.get("FAULTS_REDIS_DB", int(os.environ.get("TEST_REDIS_DB_OFFSET", "10")) + 2))
    broker_db = base_db + WORKER
    assert broker_db < 16, f"Redis database {broker_db} does not exist: set FAULTS_REDIS_DB lower"
    broker = urlunsplit((redis_parts.scheme, redis_parts.netloc, f"/{broker_db}", "", ""))
    redis.Redis.from_url(broker).flushdb()
    app = {"DATABASE_URL": _pg_urls(name, role), "CELERY_BROKER_URL": broker, "REDIS_URL": broker}
    owner = {"DATABASE_URL": _pg_urls(name), "CELERY_BROKER_URL": broker, "REDIS_URL": broker}
    stack = Stack(tmp_path, app, owner)
    stack.broker_url = broker
    try:
        yield stack
    finally:
        stack.stop()
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        redis.Redis.from_url(broker).flushdb()
