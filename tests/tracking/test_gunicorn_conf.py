"""gunicorn.conf.py: importable, sane values, every name one gunicorn knows."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def load(monkeypatch, **env):
    for name in (
        "PORT",
        "HOST",
        "WEB_CONCURRENCY",
        "GUNICORN_TIMEOUT",
        "GUNICORN_GRACEFUL_TIMEOUT",
        "GUNICORN_ACCESS_LOG",
        "PROMETHEUS_MULTIPROC_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_defaults_are_sane(monkeypatch):
    conf = load(monkeypatch)
    assert conf.bind == "0.0.0.0:8000"
    assert conf.workers >= 3  # 2 x cores + 1
    assert 10 <= conf.timeout <= 120 and 10 <= conf.graceful_timeout <= 120
    assert conf.accesslog is None  # Django logs requests already


def test_environment_overrides(monkeypatch, tmp_path):
    conf = load(
        monkeypatch,
        PORT="9001",
        HOST="127.0.0.1",
        WEB_CONCURRENCY="2",
        GUNICORN_GRACEFUL_TIMEOUT="45",
        GUNICORN_ACCESS_LOG="true",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
    )
    assert conf.bind == "127.0.0.1:9001" and conf.workers == 2 and conf.graceful_timeout == 45
    assert conf.accesslog == "-" and conf.access_log_format.startswith("{")
    assert (tmp_path / "prom").is_dir()


def test_worker_count_formula(monkeypatch):
    conf = load(monkeypatch)
    assert conf.worker_count(4, None) == 9
    assert conf.worker_count(4, 3) == 3
    assert conf.worker_count(1, 50) == 3


def test_bad_number_stops_with_its_name(monkeypatch):
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY"):
        load(monkeypatch, WEB_CONCURRENCY="many")


def test_every_setting_is_accepted_by_gunicorn(monkeypatch):
    from gunicorn.config import Config

    conf = load(monkeypatch, GUNICORN_ACCESS_LOG="true")
    config = Config()
    for name in (
        "bind",
        "workers",
        "worker_class",
        "timeout",
        "graceful_timeout",
        "keepalive",
        "max_requests",
        "max_requests_jitter",
        "accesslog",
        "access_log_format",
        "errorlog",
        "loglevel",
        "worker_tmp_dir",
        "forwarded_allow_ips",
        "on_starting",
        "post_worker_init",
        "child_exit",
    ):
        config.set(name, getattr(conf, name))  # validates like gunicorn does
    assert config.workers == conf.workers and config.graceful_timeout == conf.graceful_timeout


def test_multiprocess_directory_is_emptied_at_start(monkeypatch, tmp_path):
    directory = tmp_path / "prom"
    conf = load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(directory))
    (directory / "counter_123.db").write_bytes(b"old")
    conf.on_starting(server=None)
    assert directory.is_dir() and not any(directory.iterdir())


def test_access_log_lines_stay_one_json_object_whatever_the_path(monkeypatch):
    conf = load(monkeypatch, GUNICORN_ACCESS_LOG="true")
    atoms = {"h": "203.0.113.9", "m": "GET", "U": '/a\n{"event": "forged"}\\"', "s": "200", "B": "12", "D": 1500}
    line = conf.access_log_format % conf.JsonAccessLogger.atoms_wrapper_class(atoms)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["path"] == atoms["U"] and entry["event"] == "gunicorn_access" and entry["status"] == 200


def test_the_logger_class_is_accepted_by_gunicorn(monkeypatch):
    from gunicorn.config import Config

    conf = load(monkeypatch, GUNICORN_ACCESS_LOG="true")
    config = Config()
    config.set("logger_class", conf.logger_class)
    assert config.logger_class is conf.JsonAccessLogger


def test_workers_are_recycled_rarely_and_one_at_a_time(monkeypatch):
    conf = load(monkeypatch)
    assert conf.max_requests == 50_000 and conf.max_requests_jitter == 25_000
    assert load(monkeypatch, GUNICORN_MAX_REQUESTS="8000").max_requests_jitter == 4000


def test_a_new_worker_loads_the_views_before_its_first_request(monkeypatch):
    from django.urls import clear_url_caches, get_resolver

    conf = load(monkeypatch)
    clear_url_caches()  # as in a fresh worker: nothing resolved yet
    assert "url_patterns" not in get_resolver().__dict__
    conf.post_worker_init(worker=None)
    assert "url_patterns" in get_resolver().__dict__  # the URLconf (and every view module) is loaded
