"""Row-level security on PostgreSQL: which tables hold guild data, their policies, and the audit.

A *guild table* is any model table with a ``guild_id`` column (and the guilds table itself, keyed
by ``id``). Each gets RLS enabled and forced and one policy, ``guild_isolation``, whose USING and
WITH CHECK let a row through only when its guild is the transaction's guild (tracking/tenancy.py)
or the transaction is an explicit, logged bypass. No setting → no rows (fail closed).

The policies are (re)installed after every ``migrate`` (post_migrate, run by the owner role), so
a new guild table is covered the moment its migration runs; ``manage.py check_rls`` and the
``tracking.E001`` system check prove it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

from core.tenancy import BYPASS_SETTING, GUILD_SETTING

POLICY_NAME = "guild_isolation"
CHANGE_TABLE = "core_guildchange"  # core.models.GuildChange: its rows for guild 0 concern every guild
CHANGE_TRIGGER = "guild_change"
APPEND_ONLY_TABLES = ("dashboard_auth_dashboardauditlog", "tracking_poststatuschange", "earnings_ledgerentry")


@dataclass(frozen=True)
class GuildTable:
    table: str
    column: str


def guild_tables() -> list[GuildTable]:
    """Every table holding guild data, from the model registry (so new models are never missed)."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        if model._meta.label == "guilds.Guild":
            found.append(GuildTable(model._meta.db_table, "id"))
            continue
        field = next((f for f in model._meta.concrete_fields if f.column == "guild_id"), None)
        if field is not None:
            found.append(GuildTable(model._meta.db_table, "guild_id"))
    return sorted(found, key=lambda t: t.table)


def _predicate(column: str) -> str:
    return (
        f"(current_setting('{BYPASS_SETTING}', true) = 'on' "
        f"OR {column} = NULLIF(current_setting('{GUILD_SETTING}', true), '')::bigint)"
    )


def install_policies(connection: BaseDatabaseWrapper = default_connection) -> int:
    """Enable and force RLS with the isolation policy on every guild table. Idempotent."""
    if connection.vendor != "postgresql":
        return 0
    tables = guild_tables()
    with connection.cursor() as cursor:
        for t in tables:
            pred = _predicate(connection.ops.quote_name(t.column))
            name = connection.ops.quote_name(t.table)
            cursor.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {name}")
            using = f"({pred} OR {t.column} = 0)" if t.table == CHANGE_TABLE else pred  # 0: every guild
            cursor.execute(f"CREATE POLICY {POLICY_NAME} ON {name} USING {using} WITH CHECK {pred}")
    return len(tables)


# Notes, once per transaction and guild, that a statement wrote guild data: the guild in scope, or 0
# (every guild) under a bypass or for a role above RLS; nothing for a role under RLS without a scope
# (RLS lets such a statement write no row).
_NOTE_CHANGE = f"""
CREATE OR REPLACE FUNCTION core_note_guild_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    guild bigint := CASE WHEN current_setting('{BYPASS_SETTING}', true) = 'on' THEN 0
                         ELSE NULLIF(current_setting('{GUILD_SETTING}', true), '')::bigint END;
    noted text;
BEGIN
    IF guild IS NULL THEN
        -- No scope: RLS let the statement write nothing, unless the role is above RLS (a superuser
        -- or BYPASSRLS role at a psql prompt), which may have written any guild.
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolbypassrls)) THEN
            RETURN NULL;
        END IF;
        guild := 0;
    END IF;
    noted := guild::text || '@' || pg_current_xact_id()::text;
    IF current_setting('app.guild_change_noted', true) IS DISTINCT FROM noted THEN
        INSERT INTO {CHANGE_TABLE} (guild_id, xid) VALUES (guild, pg_current_xact_id()::text::bigint);
        PERFORM set_config('app.guild_change_noted', noted, true);
    END IF;
    RETURN NULL;
END $$
"""


def install_change_triggers(connection: BaseDatabaseWrapper = default_connection) -> int:
    """On every guild table but the change table itself, a statement trigger noting that the
    statement's guild changed (core.models.GuildChange). Idempotent; returns the tables covered."""
    if connection.vendor != "postgresql":
        return 0
    tables = [t for t in guild_tables() if t.table != CHANGE_TABLE]
    with connection.cursor() as cursor:
        cursor.execute(_NOTE_CHANGE)
        for t in tables:
            name = connection.ops.quote_name(t.table)
            cursor.execute(f"DROP TRIGGER IF EXISTS {CHANGE_TRIGGER} ON {name}")
            cursor.execute(
                f"CREATE TRIGGER {CHANGE_TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION core_note_guild_change()"
            )
    return len(tables)


def grant_app_role(role: str, connection: BaseDatabaseWrapper = default_connection) -> bool:
    """Give the request-serving role what it needs and no more. False when the role does not exist."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return False
        r = connection.ops.quote_name(role)
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {r}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}")
        cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {r}")
        # Ingestion stages a dataset's rows in temporary tables (ON COMMIT DROP) before one INSERT or
        # UPDATE per table (metrics.ingestion). PUBLIC has TEMPORARY by default; say so explicitly in case
        # a hardened database revoked it (a grantor without the right only gets a warning).
        cursor.execute("SELECT current_database()")
        database = connection.ops.quote_name(cursor.fetchone()[0])
        cursor.execute(f"GRANT TEMPORARY ON DATABASE {database} TO {r}")
        for table in APPEND_ONLY_TABLES:  # the audit trail cannot be rewritten by the app
            cursor.execute(f"REVOKE UPDATE, DELETE ON {connection.ops.quote_name(table)} FROM {r}")
    return True


def rls_problems(connection: BaseDatabaseWrapper = default_connection) -> list[str]:
    """One line per guild table that lacks enabled+forced RLS or the isolation policy."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r'",
            [POLICY_NAME],
        )
        state = {row[0]: row[1:] for row in cursor.fetchall()}
    problems = []
    for t in guild_tables():
        if t.table not in state:
            problems.append(f"{t.table}: table missing (migrations not applied?)")
            continue
        enabled, forced, has_policy = state[t.table]
        missing = [
            w
            for w, ok in (
                ("RLS not enabled", enabled),
                ("RLS not forced", forced),
                (f"no {POLICY_NAME} policy", has_policy),
            )
            if not ok
        ]
        if missing:
            problems.append(f"{t.table}: {', '.join(missing)}")
    return problems
