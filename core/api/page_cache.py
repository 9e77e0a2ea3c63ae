"""List pages kept in the worker's memory while their guild's data has not changed (PostgreSQL).

Reading a list's first page again is the API's commonest request (dashboards and bots poll it), and
the page's statement — a join of four tables under row-level security that also writes each row's
JSON — cost PostgreSQL more than everything else in the request (issue 17). A page read once is kept
here with the database snapshot it was read under, and served again only after one statement proves
that nothing of its guild has changed since:

    no row of core_guildchange for the guild (or for every guild, 0) whose transaction is visible
    now and was not in the page's snapshot

``core_guildchange`` is written by a statement trigger on every guild table (core/rls.py
``install_change_triggers``) in the writing transaction itself, so a change is visible exactly when
the data it changed is; the check runs under the request's tenant (row-level security) like any
other statement, and only after the view's authentication and permissions. Nothing is kept inside a
transaction (a page could hold uncommitted rows), for SQL that reads a table without the trigger, or
for longer than ``TTL_SECONDS`` (defence in depth: a write no trigger sees, retention's deletes).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from functools import cache

from core.rls import CHANGE_TABLE, guild_tables

TTL_SECONDS = 60.0
MAX_PAGES = 128  # per worker; a page is at most 201 rows of text

_pages: OrderedDict = OrderedDict()  # key -> (snapshot, kept at, rows)
_lock = threading.Lock()

_SNAPSHOT = "SELECT pg_current_snapshot()::text"
_UNCHANGED = (
    f"SELECT pg_current_snapshot()::text, NOT EXISTS (SELECT 1 FROM {CHANGE_TABLE} WHERE guild_id IN (%s, 0) "
    "AND xid >= pg_snapshot_xmin(%s::pg_snapshot)::text::bigint "
    "AND NOT pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot))"
)


@cache
def watched_tables() -> frozenset[str]:
    """The tables whose writes core_guildchange records (every guild table but itself)."""
    return frozenset(t.table for t in guild_tables() if t.table != CHANGE_TABLE)


def usable(connection) -> bool:
    """Pages may be kept and reused on this connection now: PostgreSQL, outside any transaction."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block and connection.get_autocommit()


def read(key, guild_id: int, cursor, fetch):
    """The rows of the page ``key`` of ``guild_id``: kept ones when nothing of the guild changed since
    they were read, else ``fetch()``'s (then kept). ``cursor`` runs the check (one statement)."""
    now = time.monotonic()
    with _lock:
        kept = _pages.get(key)
    if kept is not None and now - kept[1] < TTL_SECONDS:
        snapshot = kept[0]
        cursor.execute(_UNCHANGED, (guild_id, snapshot, snapshot))
        current, unchanged = cursor.fetchone()
        if unchanged:
            with _lock:
                _pages[key] = (current, kept[1], kept[2])  # valid at the newer snapshot too
            return kept[2]
    else:
        cursor.execute(_SNAPSHOT)
        (current,) = cursor.fetchone()
    rows = fetch()  # read after the snapshot was taken: it holds at least what the snapshot saw
    with _lock:
        _pages[key] = (current, now, rows)
        _pages.move_to_end(key)
        while len(_pages) > MAX_PAGES:
            _pages.popitem(last=False)
    return rows


def clear() -> None:
    with _lock:
        _pages.clear()
