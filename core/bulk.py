"""Set-based writes and lookups for large row sets: one statement for any number of rows, on both
backends (no per-row statements, no backend batch limits: Django's SQLite bulk_create splits at 999
parameters). Values travel as one JSON array parameter, read by ``jsonb_to_recordset`` on PostgreSQL
and ``json_each`` on SQLite."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL

from core.values import json_safe


def column_in(model: type[models.Model], column: str, values: set[str]) -> Q:
    """``<table>.<column> IN values`` with the values as one parameter (a PostgreSQL array, a
    JSON array on SQLite) instead of one placeholder each: a 20,000-value IN list costs more to build
    and parse than to run, and would hit SQLite's and PostgreSQL's placeholder limits."""
    qn = connection.ops.quote_name
    name = f"{qn(model._meta.db_table)}.{qn(model._meta.get_field(column).column)}"
    if connection.vendor == "postgresql":
        sql, param = f"{name} = ANY(%s)", list(values)
    else:
        sql, param = f"{name} IN (SELECT value FROM json_each(%s))", json.dumps(list(values))
    return Q(RawSQL(sql, (param,), output_field=models.BooleanField()))  # noqa: S611 - fixed SQL, values bound


def _row_source(fields: Sequence[models.Field]) -> str:
    """A FROM item named ``r`` with one column per field, read from one JSON-array parameter."""
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        columns = ", ".join(f"{qn(f.column)} {f.db_type(connection)}" for f in fields)
        return f"jsonb_to_recordset(%s::jsonb) AS r({columns})"
    columns = ", ".join(f"json_extract(value, '$.{f.column}') AS {qn(f.column)}" for f in fields)
    return f"(SELECT {columns} FROM json_each(%s)) AS r"


def _rows(objs: Sequence[models.Model], fields: Sequence[models.Field], *, add: bool) -> str:
    """The objects as a JSON array. Values go through the backend's datetime adapter only: every
    other field written here (integers, strings, booleans, floats) is stored as it is, and skipping
    get_db_prep_save per value is most of the speed on large datasets."""
    adapt = connection.ops.adapt_datetimefield_value
    stamped = [f for f in fields if add and getattr(f, "auto_now_add", False)]
    for obj in objs if stamped else ():
        for f in stamped:
            f.pre_save(obj, add)
    names = [(f.column, f.attname) for f in fields]
    rows = []
    for obj in objs:
        row = {}
        for column, attname in names:
            value = getattr(obj, attname)
            if isinstance(value, datetime):
                value = adapt(value)
            row[column] = json_safe(value)
        rows.append(row)
    return json.dumps(rows)


def bulk_insert(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    on_conflict: Sequence[str] = (),
    update_fields: Sequence[str] = (),
) -> None:
    """INSERT every object in one statement. ``on_conflict`` names the unique fields: with
    ``update_fields`` the existing row takes the new values, without them the new row is dropped."""
    if not objs:
        return
    qn, meta = connection.ops.quote_name, model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    columns = ", ".join(qn(f.column) for f in fields)
    sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) SELECT {columns} FROM {_row_source(fields)} WHERE true"
    if on_conflict:
        target = ", ".join(qn(meta.get_field(n).column) for n in on_conflict)
        if update_fields:
            sets = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in (meta.get_field(n).column for n in update_fields))
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_rows(objs, fields, add=True)])


def bulk_update(model: type[models.Model], objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """UPDATE ``field_names`` of every object (matched by primary key) in one statement."""
    if not objs:
        return
    qn, meta = connection.ops.quote_name, model._meta
    pk = meta.pk
    fields = [meta.get_field(n) for n in field_names]
    table = qn(meta.db_table)
    sets = ", ".join(f"{qn(f.column)} = r.{qn(f.column)}" for f in fields)
    sql = (
        f"UPDATE {table} SET {sets} FROM {_row_source([pk, *fields])} WHERE {table}.{qn(pk.column)} = r.{qn(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_rows(objs, [pk, *fields], add=False)])
