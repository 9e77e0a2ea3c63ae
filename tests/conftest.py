"""Shared fixtures. Factories live in tests/factories.py; vendor fakes in tests/fakes/."""

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
