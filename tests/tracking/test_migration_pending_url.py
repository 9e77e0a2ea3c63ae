"""Migration 0012 refuses to add the pending-URL unique index over existing duplicates, and says which."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from tests.factories import make_post

migration = importlib.import_module("tracking.migrations.0012_post_unique_pending_url")
SHORT_LINK = "https://vm.tiktok.com/ZMdupdup/"


class _Editor:
    connection = connection


@pytest.mark.django_db
def test_existing_duplicates_stop_the_migration_with_a_list(guild):
    if connection.vendor != "sqlite":
        pytest.skip("dropping the index needs the table owner; SQLite's DDL rolls back with the test")
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX post_unique_pending_url_per_guild")  # as before the migration
    first = make_post(guild, external_id=None, canonical_url=SHORT_LINK, needs_resolution=True)
    second = make_post(guild, first.profile, external_id=None, canonical_url=SHORT_LINK, needs_resolution=True)
    with pytest.raises(RuntimeError) as caught:
        migration.refuse_existing_duplicates(None, _Editor())
    message = str(caught.value)
    assert message.startswith("1 short links were submitted more than once in the same guild; keep one post")
    assert f"guild {guild.pk} tiktok {SHORT_LINK}: 2 posts (ids {first.pk}..{second.pk})" in message


@pytest.mark.django_db
def test_no_duplicates_lets_the_migration_run(guild):
    make_post(guild, external_id=None, canonical_url=SHORT_LINK, needs_resolution=True)
    assert migration.refuse_existing_duplicates(None, _Editor()) is None
