"""Daily rollups (metrics.models.PostDailyRollup): each post's newest measurement with views of each
UTC day, kept beside the snapshots so a read over whole days touches one row per post per day.

The rule, in one place: ``day`` is the UTC date of the snapshot's ``captured_at``; the row holds the
numbers of the newest snapshot of that day whose ``views`` is not NULL (the leaderboard ignores
snapshots without views, so do rollups). A snapshot re-ingested with NULL views leaves the day's row
as it was until the next ``rebuild_rollups``.

- ``upsert_rollups_sql``: ingestion's one statement per dataset, from its staged snapshot rows, in
  the ingest's transaction (metrics.ingestion);
- ``rebuild_rollups``: delete and recompute from the snapshots (a guild, or all): idempotent; run by
  ``manage.py rebuild_rollups`` and by the migration that added the table.
"""

from __future__ import annotations

from django.db import connection, transaction

from metrics.models import PostDailyRollup, VideoMetrics

_COLUMNS = ("guild_id", "post_id", "day", "captured_at", "views", "likes", "comments", "shares")
_VALUES = ("views", "likes", "comments", "shares")


def _utc_day(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"date({column})"  # SQLite stores UTC text: its date part


def upsert_rollups_sql(source: str) -> str:
    """Fold staged snapshot rows (a FROM item named ``r``) into the rollups: a row per (post, day),
    replaced only by a snapshot at least as new as the one it holds."""
    qn = connection.ops.quote_name
    table = qn(PostDailyRollup._meta.db_table)
    columns = ", ".join(qn(c) for c in _COLUMNS)
    picked = ", ".join(_utc_day("r.captured_at") if c == "day" else f"r.{qn(c)}" for c in _COLUMNS)
    sets = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in ("captured_at", *_VALUES))
    return (
        f"INSERT INTO {table} ({columns}) SELECT {picked} FROM {source} WHERE r.{qn('views')} IS NOT NULL"
        f' ON CONFLICT ("post_id", "day") DO UPDATE SET {sets}'
        f' WHERE excluded."captured_at" >= {table}."captured_at"'
    )


def _rebuild_sql(guild_id: int | None) -> tuple[list[str], list]:
    qn = connection.ops.quote_name
    table, snapshots = qn(PostDailyRollup._meta.db_table), qn(VideoMetrics._meta.db_table)
    columns = ", ".join(qn(c) for c in _COLUMNS)
    where, params = ("", []) if guild_id is None else (' AND s."guild_id" = %s', [guild_id])
    day = _utc_day('s."captured_at"')
    ranked = (
        f'SELECT s."guild_id", s."post_id", {day} AS "day", s."captured_at", s."views", s."likes",'
        f' s."comments", s."shares", ROW_NUMBER() OVER (PARTITION BY s."post_id", {day}'
        f' ORDER BY s."captured_at" DESC) AS rn FROM {snapshots} s WHERE s."views" IS NOT NULL{where}'
    )
    delete = f"DELETE FROM {table}" + ("" if guild_id is None else ' WHERE "guild_id" = %s')
    insert = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM ({ranked}) ranked WHERE rn = 1"
    return [delete, insert], [params, params]


def rebuild_rollups(*, guild_id: int | None = None) -> int:
    """Recompute the rollups of one guild (or every guild) from its snapshots, in one transaction.
    Idempotent. The caller sets the scope (the guild's, or a logged bypass for all). Returns the
    number of rollup rows written."""
    statements, params = _rebuild_sql(guild_id)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statements[0], params[0])
        cursor.execute(statements[1], params[1])
        return cursor.rowcount
