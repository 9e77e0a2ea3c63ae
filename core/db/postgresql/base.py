"""Django's PostgreSQL backend, plus: before any statement runs, the connection holds the tenant of
the running code (``core.tenancy.guild_scope`` / ``rls_bypass``, or none at all).

Row-level security reads two settings, ``app.guild_id`` and ``app.rls_bypass``. They are written
only when they differ from what this connection is known to hold, so a request or a task pays one
extra round trip when its scope starts, not one per query. What the connection holds is forgotten
(and so written again before the next statement) whenever it may have changed behind our back: a new
or reused pooled connection, a rollback, a rollback to a savepoint. That makes the rule simple: no
statement — in a transaction or in autocommit — ever runs with another scope's tenant, and code that
sets no scope sees no guild rows (fail closed).
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db.backends.postgresql import base

from core.tenancy import BYPASS_SETTING, GUILD_SETTING, db_settings_wanted

_SET = f"SELECT set_config('{GUILD_SETTING}', %s, false), set_config('{BYPASS_SETTING}', %s, false)"


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant_held: tuple[str, str] | None = None  # None: unknown, write before the next statement
        self.tenant_control = False  # True while a savepoint statement runs
        self.execute_wrappers.append(_apply_tenant)

    def connect(self):
        self.tenant_held = None
        super().connect()

    def _rollback(self):
        self.tenant_held = None
        super()._rollback()

    # Savepoint statements are transaction control, not data access: they run as they are (the
    # transaction may be aborted, when only ROLLBACK TO SAVEPOINT is allowed).
    def _savepoint(self, sid):
        with self._tenant_untouched():
            super()._savepoint(sid)

    def _savepoint_commit(self, sid):
        with self._tenant_untouched():
            super()._savepoint_commit(sid)

    def _savepoint_rollback(self, sid):
        with self._tenant_untouched():
            super()._savepoint_rollback(sid)
        self.tenant_held = None  # what was set after the savepoint is undone

    @contextmanager
    def _tenant_untouched(self):
        self.tenant_control = True
        try:
            yield
        finally:
            self.tenant_control = False

    def _close(self):
        self.tenant_held = None
        super()._close()


def _apply_tenant(execute, sql, params, many, context):
    connection = context["connection"]
    wanted = db_settings_wanted()
    if connection.tenant_held != wanted and not connection.tenant_control:
        # A cursor of its own: the statement's cursor may be a server-side (named) one.
        connection.connection.execute(_SET, wanted)
        connection.tenant_held = wanted
    return execute(sql, params, many, context)
