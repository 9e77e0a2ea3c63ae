"""`manage.py check_rls` and the tracking.E001 system check catch a guild table left unprotected."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.checks import check_row_level_security

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_a_table_without_forced_rls_fails_the_command_and_the_system_check():
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")  # the owner would be the one to (wrongly) do this
        cursor.execute("ALTER TABLE tracking_post NO FORCE ROW LEVEL SECURITY")
        cursor.execute("DROP POLICY guild_isolation ON metrics_videometrics")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="2 guild table"):
        call_command("check_rls", stdout=out, stderr=err)
    assert "MISSING tracking_post" in out.getvalue()
    assert "tracking_post: RLS not forced" in err.getvalue()
    assert "metrics_videometrics: no guild_isolation policy" in err.getvalue()
    errors = check_row_level_security(databases=["default"])
    assert {e.id for e in errors} == {"tracking.E001"} and len(errors) == 2


def test_on_sqlite_the_command_says_scoping_is_application_level(settings):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite behaviour")
    out = io.StringIO()
    call_command("check_rls", stdout=out)
    assert "application-level only" in out.getvalue()
