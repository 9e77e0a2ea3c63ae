"""Probes answer in JSON; readiness names what is down."""

import pytest
from django.core.cache import cache

from core import health

pytestmark = pytest.mark.django_db


def test_healthz_answers(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_reports_database_and_cache(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "cache": "ok"}


def test_readyz_names_a_down_cache(client, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(cache, "set", broken)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["failed"] == ["cache"]
    assert r.json()["checks"]["database"] == "ok"


def test_readyz_names_a_down_database(client, monkeypatch):
    monkeypatch.setattr(health, "database_ok", lambda: False)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["failed"] == ["database"]
