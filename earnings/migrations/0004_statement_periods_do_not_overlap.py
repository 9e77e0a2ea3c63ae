"""On PostgreSQL, the database refuses two live statements of one creator and campaign whose periods
overlap (an exclusion constraint on [period_start, period_end); voided statements do not count).

It needs the btree_gist extension (for ``=`` on the ids inside a GiST index). When the server does not
offer it, the role may not create it, or live statements overlap already, the constraint is left out
and said so: earnings.services.create_statements still refuses overlaps under a lock on the campaign.
SQLite has no exclusion constraints; the same service check applies there.
"""

from django.db import DatabaseError, migrations, transaction

from core.tenancy import rls_bypass

NAME = "statement_periods_do_not_overlap"
TABLE = "earnings_statement"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with rls_bypass(reason="migration earnings.0004 statement periods"), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gist'")
        if cursor.fetchone() is None:
            print(f"\n  {NAME}: btree_gist is not available; overlaps are refused by the service only.")
            return
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        except DatabaseError as error:
            print(f"\n  {NAME}: cannot create btree_gist ({error}); overlaps are refused by the service only.")
            return
        cursor.execute(
            f"SELECT count(*) FROM {TABLE} a JOIN {TABLE} b ON a.id < b.id AND a.campaign_id = b.campaign_id "
            "AND a.creator_id = b.creator_id AND a.period_start < b.period_end AND b.period_start < a.period_end "
            "WHERE a.status <> 'voided' AND b.status <> 'voided'"
        )
        (overlapping,) = cursor.fetchone()
        if overlapping:
            print(f"\n  {NAME}: {overlapping} pairs of live statements overlap already; void one of each and "
                  "migrate earnings 0003 then 0004 again to add the constraint.")  # fmt: skip
            return
        cursor.execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {NAME} EXCLUDE USING gist "
            "(campaign_id WITH =, creator_id WITH =, tstzrange(period_start, period_end, '[)') WITH &&) "
            "WHERE (status <> 'voided')"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("earnings", "0003_payout_method")]

    operations = [migrations.RunPython(forwards, backwards)]
