"""Shared fixtures. Factories live in tests/factories.py; vendor fakes in tests/fakes/; fixtures and
helpers that some apps share (the REST API, Apify, Discord, submissions) in tests/helpers/, imported
by the conftest.py of the apps that use them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> dict:
    """A vendor sample from tests/fixtures, without its explanatory _note."""
    data = json.loads((FIXTURES / name).read_text())
    if isinstance(data, dict):
        data.pop("_note", None)
    return data


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres are skipped unless DATABASE_URL points at PostgreSQL."""
    from django.conf import settings

    if settings.DATABASE_IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


APP_ROLE = "tracking_app"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache (rate limits, guild lists, replay ids)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(scope="session", autouse=True)
def _app_role_exists(django_db_setup, django_db_blocker):
    """On PostgreSQL, make sure the restricted role exists and may use the test database's tables."""
    from django.conf import settings

    if not settings.DATABASE_IS_POSTGRES:
        return
    from core.rls import grant_app_role

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tracking_app') THEN "
            "CREATE ROLE tracking_app NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$;"
        )
        grant_app_role(APP_ROLE, connection)


@pytest.fixture(autouse=True)
def _run_as_restricted_role(request):
    """On PostgreSQL every database test runs as the role that serves requests: not superuser, not
    BYPASSRLS, owning no table — so row-level security applies to the code under test and to the
    test itself. Factories use an explicit bypass; code under test must scope itself."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or "db" in request.fixturenames
    if not uses_db or (marker and marker.kwargs.get("transaction")) or "transactional_db" in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False), "RLS tests must not run as a privileged role"
    yield


@pytest.fixture
def bypass():
    """For assertions that read across guilds: ``with bypass(): Post.objects.count()``."""
    from core.tenancy import rls_bypass

    return lambda: rls_bypass(reason="test assertion")


@pytest.fixture
def guild(db):
    from tests.factories import make_guild

    return make_guild()


@pytest.fixture
def other_guild(db):
    from tests.factories import make_guild

    return make_guild(name="Other Guild")


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"
