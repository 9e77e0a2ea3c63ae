"""Drop three single-column foreign-key indexes that no query needs, so each ingest's bulk UPDATE of
posts and INSERT of status history maintain fewer indexes (bench/ingest.py, DESIGN.md §10):

- tracking_post.guild_id and tracking_poststatuschange.guild_id: every other index of those tables
  leads with guild_id, and every read is guild-scoped;
- tracking_post.client_account_id: the dashboard's client filter and the per-client counts are
  guild-scoped and walk the guild-led indexes.

Only the indexes go: the foreign-key constraints stay as they are (Django's AlterField would drop and
re-add them, re-validating every row of the table under lock). The names are Django's own, which are
the same on PostgreSQL and SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = (
    ("tracking_post_guild_id_2b8b4f6e", "tracking_post", "guild_id"),
    ("tracking_post_client_account_id_3af4d354", "tracking_post", "client_account_id"),
    ("tracking_poststatuschange_guild_id_3567adff", "tracking_poststatuschange", "guild_id"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("guilds", "0002_guild_daily_report_hour_guild_last_daily_report_on_and_more"),
        ("tracking", "0005_beat_schedules"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
                )
                for name, table, column in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="post",
                    name="client_account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="posts",
                        to="tracking.clientaccount",
                    ),
                ),
                migrations.AlterField(
                    model_name="post",
                    name="guild",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="posts",
                        to="guilds.guild",
                    ),
                ),
                migrations.AlterField(
                    model_name="poststatuschange",
                    name="guild",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="guilds.guild"
                    ),
                ),
            ],
        ),
    ]
