"""List bodies from ``values_list()`` rows instead of model instances, identical to the serializer's.

A ModelSerializer over a page of model instances spends most of a list request building the
instances (and their select_related neighbours) and walking every field's ``get_attribute`` (issue
17: ~20 ms for 50 posts of 27 fields). For a serializer whose every readable field is a model column,
a column of a required (non-null) foreign key's row, or a plain primary-key relation, the same body
comes from one ``values_list()`` of exactly those columns, each non-null value passed through the
field's own ``to_representation`` (so dates, choices and JSON come out as the serializer writes them).

A serializer with anything else (method fields, nested serializers, properties, nullable hops) is
not planned, nor is a serializer that overrides ``to_representation``: ``plan_for`` returns None and
the view serializes instances as usual.
On PostgreSQL, when the serializer's every field is one PostgreSQL can write as DRF would (integers,
text, choices, booleans, UTC datetimes; JSON columns are written by Python), each row's JSON text is
built by the page query itself and reaches the body as it is (core/api/renderers.py ``RawJSON``):
no value is decoded, converted or encoded again in Python (issue 17: that was most of the posts list's
time). Anywhere else (SQLite, a time zone other than UTC, another renderer) rows come as above.
tests/tracking/test_posts_list.py holds the ways to the same body.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import connections, models, router
from django.db.models import Expression, F, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.relations import ManyRelatedField, PrimaryKeyRelatedField, RelatedField
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.api import page_cache
from core.api.renderers import JSONRenderer as RawJSONRenderer
from core.api.renderers import RawJSON


@dataclass(frozen=True)
class RowPlan:
    names: tuple[str, ...]
    lookups: tuple[str, ...]
    fields: tuple[serializers.Field, ...]
    # How PostgreSQL writes each field's JSON (_SQL_JSON), or None when one of them it cannot.
    sql_kinds: tuple[str, ...] | None = None
    model: type[models.Model] | None = None

    def json_text_ready(self, request) -> bool:
        """Rows can be written by the page query: PostgreSQL, this renderer, datetimes in UTC."""
        return (
            self.sql_kinds is not None
            and connections[router.db_for_read(self.model)].vendor == "postgresql"
            and type(getattr(request, "accepted_renderer", None)) is RawJSONRenderer
            and ("datetime" not in self.sql_kinds or _current_tz_is_utc())
        )

    def json_text_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        """The same rows, in the same order, each as the pieces of its JSON text (``json_text``)."""
        return queryset.select_related(None).values_list(*_layout(self)[0])

    def json_text(self, rows: Iterable[tuple]) -> RawJSON:
        """The rows of ``json_text_queryset`` as one JSON array."""
        _, pieces, json_at = _layout(self)
        out = []
        for row in rows:
            out.append(
                "".join(
                    piece
                    if type(piece) is str  # noqa: E721 - exactly str: a literal
                    else _json_column(row[piece])
                    if piece in json_at
                    else row[piece]
                    for piece in pieces
                )
            )
        return RawJSON("[" + ",".join(out) + "]")

    def queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        """The same rows, in the same order, as tuples of the planned columns."""
        return queryset.select_related(None).values_list(*self.lookups)

    def render(self, rows: Iterable[tuple]) -> list[dict]:
        """The serializer's ``to_representation`` of each row (None stays None, as DRF does)."""
        tz = timezone.get_current_timezone() if settings.USE_TZ else None  # what DateTimeField uses now
        converters = [_converter(field, tz) for field in self.fields]
        names = self.names
        out = []
        for row in rows:
            item = {}
            for name, convert, value in zip(names, converters, row, strict=True):
                item[name] = value if value is None or convert is None else convert(value)
            out.append(item)
        return out


def _current_tz_is_utc() -> bool:
    return settings.USE_TZ and timezone.get_current_timezone_name() in ("UTC", "Etc/UTC")


def _json_column(text: str | None) -> str:
    """A JSON column's text (PostgreSQL's, with spaces) as DRF's renderer writes its value: compact,
    not ASCII-escaped, no NaN (what Django's JSONField and DRF's JSONField would make of it)."""
    if text is None:
        return "null"
    if text in ("[]", "{}"):
        return text
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# What PostgreSQL writes for each kind of field, ``{x}`` the column, as DRF would: a number or a
# boolean as its text; a string through to_json, which escapes exactly as Python's json (ensure_ascii
# off) does; an integer shown as a string in quotes; a datetime as DRF's ISO 8601 in UTC (microseconds
# only when not zero, "Z" for +00:00). NULL is null: DRF writes None without calling the field.
# (to_json of a number costs PostgreSQL twice its text; one to_char a third of three.)
_SQL_JSON = {
    "raw": "COALESCE(({x})::text, 'null')",
    "text": "COALESCE(to_json({x})::text, 'null')",
    "quoted": "COALESCE('\"' || ({x})::text || '\"', 'null')",
    "datetime": (
        "COALESCE('\"' || replace(to_char({x} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') "
        "|| 'Z\"', 'null')"
    ),
}
_TEXT_COLUMNS = frozenset(
    {"CharField", "TextField", "SlugField", "EmailField", "URLField", "GenericIPAddressField", "FilePathField"}
)
_INTEGER_COLUMNS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)


def _sql_kind(field: serializers.Field, column: models.Field) -> str | None:
    """How PostgreSQL can write ``field``'s representation of ``column`` exactly (a key of _SQL_JSON),
    "json" for a JSON column (written by Python), or None when it cannot be sure to write what DRF
    would."""
    kind = type(field)
    internal = column.get_internal_type()
    if isinstance(field, RelatedField):  # a primary key, as the column holds it
        return "raw" if column.target_field.get_internal_type() in _INTEGER_COLUMNS else None
    if kind.to_representation is serializers.CharField.to_representation:  # str(value)
        return "text" if internal in _TEXT_COLUMNS else "quoted" if internal in _INTEGER_COLUMNS else None
    if kind is serializers.ChoiceField and all(k == v for k, v in field.choice_strings_to_values.items()):
        return "text" if internal in _TEXT_COLUMNS else None
    if kind in (serializers.IntegerField, serializers.BigIntegerField) and internal in _INTEGER_COLUMNS:
        coerce = kind is serializers.BigIntegerField and getattr(
            field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING
        )
        return "quoted" if coerce else "raw"
    if kind is serializers.BooleanField and internal == "BooleanField":
        return "raw"  # true / false
    if (
        kind is serializers.DateTimeField
        and internal == "DateTimeField"
        and not hasattr(field, "timezone")
        and getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601
    ):
        return "datetime"
    if kind is serializers.JSONField and not field.binary and internal == "JSONField" and column.decoder is None:
        return "json"
    return None


class _JsonFields(Expression):
    """SQL text: ``"key":value`` pairs, each key a literal (a parameter) followed by its column's JSON."""

    output_field = TextField()

    def __init__(self, keys: list[str], kinds: list[str], columns: list):
        super().__init__()
        self.keys, self.kinds, self.columns = keys, kinds, columns

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, exprs):
        self.columns = list(exprs)

    def as_sql(self, compiler, connection):
        sql, params = [], []
        for key, kind, column in zip(self.keys, self.kinds, self.columns, strict=True):
            column_sql, column_params = compiler.compile(column)
            template = _SQL_JSON[kind]
            sql.append("%s")
            params.append(key)
            sql.append(template.replace("{x}", column_sql))
            params.extend(list(column_params) * template.count("{x}"))
        return "(" + " || ".join(sql) + ")", params


@cache
def _layout(plan: RowPlan) -> tuple[tuple, tuple, frozenset]:
    """What ``json_text_queryset`` selects (runs of fields PostgreSQL writes, JSON columns as their
    text), how a row's pieces join into its text (literals: a JSON column's key, the closing brace;
    and positions), and which positions are JSON columns. Every column selected is text, so a
    prepared statement's result type cannot change under it (a column's type changed by a migration
    while it runs makes PostgreSQL re-plan it, not refuse it)."""
    selected, pieces, json_at = [], [], set()
    keys, kinds, columns = [], [], []

    def close_run(tail: str):
        if columns:
            pieces.append(len(selected))
            selected.append(_JsonFields(list(keys), list(kinds), list(columns)))
        if pieces and type(pieces[-1]) is str:  # noqa: E721 - a literal: merge
            pieces[-1] += tail
        else:
            pieces.append(tail)
        keys.clear()
        kinds.clear()
        columns.clear()

    for i, (name, lookup, kind) in enumerate(zip(plan.names, plan.lookups, plan.sql_kinds, strict=True)):
        key = ("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
        if kind == "json":
            close_run(key)
            pieces.append(len(selected))
            json_at.add(len(selected))
            selected.append(Cast(F(lookup), output_field=TextField()))
        else:
            keys.append(key)
            kinds.append(kind)
            columns.append(F(lookup))
    close_run("}" if plan.names else "{}")
    return tuple(selected), tuple(pieces), frozenset(json_at)


def _iso(value: datetime, tz) -> str:
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _converter(field: serializers.Field, tz) -> Callable | None:
    """``field.to_representation`` for a non-null column value, or None where it returns the value
    itself; DRF's own code wherever the value is not the plain case."""
    slow = field.to_representation
    kind = type(field)
    if isinstance(field, RelatedField):
        return None  # a primary-key relation: the column is the related row's primary key
    if kind is serializers.JSONField and not field.binary:
        return None
    if kind is serializers.ChoiceField and all(k == v for k, v in field.choice_strings_to_values.items()):
        return lambda v: v if type(v) is str else slow(v)  # noqa: E721 - exactly str
    plain = {serializers.CharField: str, serializers.IntegerField: int, serializers.BooleanField: bool}.get(kind)
    if kind is serializers.BigIntegerField:
        plain = None if getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING) else int
    if plain is not None:
        return lambda v: v if type(v) is plain else slow(v)
    if (
        kind is serializers.DateTimeField
        and tz is not None
        and not hasattr(field, "timezone")
        and getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601
    ):
        return lambda v: _iso(v, tz) if type(v) is datetime and v.utcoffset() is not None else slow(v)
    return slow


def _column(model, attrs: list[str]) -> bool:
    """``attrs`` is a concrete column of ``model`` or reached through required forward foreign keys."""
    try:
        for attr in attrs[:-1]:
            field = model._meta.get_field(attr)
            if not (field.many_to_one or field.one_to_one) or not field.concrete or field.null:
                return False
            model = field.related_model
        field = model._meta.get_field(attrs[-1])
    except FieldDoesNotExist:
        return False
    return field.concrete and not field.many_to_many


def _model_field(model, attrs: list[str]) -> models.Field:
    """The model field ``attrs`` ends on (``_column`` said it is a column)."""
    for attr in attrs[:-1]:
        model = model._meta.get_field(attr).related_model
    return model._meta.get_field(attrs[-1])


@cache
def plan_for(serializer_class: type[serializers.ModelSerializer]) -> RowPlan | None:
    """How to build ``serializer_class``'s list body from columns, or None when it cannot be."""
    meta = getattr(serializer_class, "Meta", None)
    model = getattr(meta, "model", None)
    if model is None or serializer_class.to_representation is not serializers.ModelSerializer.to_representation:
        return None
    names, lookups, fields, sql_kinds = [], [], [], []
    for name, field in serializer_class().fields.items():
        if field.write_only:
            continue
        if isinstance(field, serializers.SerializerMethodField | serializers.BaseSerializer | ManyRelatedField):
            return None
        if not field.source_attrs or not _column(model, field.source_attrs):
            return None
        if isinstance(field, RelatedField) and (
            not isinstance(field, PrimaryKeyRelatedField) or field.pk_field is not None or len(field.source_attrs) > 1
        ):
            return None
        names.append(name)
        lookups.append("__".join(field.source_attrs))
        fields.append(field)
        sql_kinds.append(_sql_kind(field, _model_field(model, field.source_attrs)))
    kinds = None if None in sql_kinds else tuple(sql_kinds)
    return RowPlan(tuple(names), tuple(lookups), tuple(fields), kinds, model)


class _JsonTextRows:
    """A list's rows as JSON text pieces, for the paginator: sliced like a queryset, counted by the
    queryset, read with the queryset's own SQL (its JSON columns come as their text, not parsed).

    With a ``key``, the SQL of each slice is compiled once per worker and reused by every request
    with the same key: the view promises (``list_sql_key``) that its queryset, and so the SQL and
    parameters, are the same for every request with that key. Building and compiling a 29-column
    query cost more than running it (issue 17). The statement still runs like any other, on the
    request's connection, under the request's tenant (row-level security) and query log. On
    PostgreSQL, outside a transaction, the rows of such a page are also kept (core/api/page_cache.py)
    and served again while one statement proves the guild's data unchanged since they were read."""

    def __init__(self, build, db: str, key=None, start=None, stop=None, guild_id=None):
        self._build, self.db, self.key, self.start, self.stop = build, db, key, start, stop
        self.guild_id = guild_id  # with a key: the page may be kept while the guild is unchanged

    def __getitem__(self, part: slice):
        if not isinstance(part, slice) or part.step is not None or self.start is not None or self.stop is not None:
            raise TypeError("the rows can be sliced once, without a step")
        return _JsonTextRows(self._build, self.db, self.key, part.start, part.stop, self.guild_id)

    def count(self) -> int:
        return self._build().count()

    @property
    def _slice_key(self):
        """This slice of the view's key: what its SQL (``_COMPILED``) and its kept page depend on."""
        return None if self.key is None else (self.key, self.start, self.stop, self.db)

    def _sql(self) -> tuple[str, tuple, bool] | None:
        """(sql, params, whether every table it reads records its changes for page_cache), or None."""
        cache_key = self._slice_key
        if cache_key is not None and (compiled := _COMPILED.get(cache_key)) is not None:
            return compiled
        queryset = self._build()
        if self.start is not None or self.stop is not None:
            queryset = queryset[self.start : self.stop]
        try:
            sql, params = queryset.query.get_compiler(self.db).as_sql()
        except EmptyResultSet:
            return None
        tables = {join.table_name for join in queryset.query.alias_map.values()}
        compiled = (sql, tuple(params), tables <= page_cache.watched_tables())
        if cache_key is not None:
            if len(_COMPILED) >= _COMPILED_MAX:
                with contextlib.suppress(KeyError, RuntimeError, StopIteration):  # another thread's doing
                    del _COMPILED[next(iter(_COMPILED))]  # the oldest
            _COMPILED[cache_key] = compiled
        return compiled

    def __iter__(self):
        compiled = self._sql()
        if compiled is None:
            return iter(())
        sql, params, watched = compiled
        connection = connections[self.db]
        prepared = self.key is not None and connection.vendor == "postgresql" and not connection.queries_logged
        # The same SQL every time: plan it once per connection.
        cursor = _prepared_cursor(connection) if prepared else connection.cursor()
        with cursor:

            def fetch():
                cursor.execute(sql, params)
                return cursor.fetchall()

            if self.key is not None and watched and self.guild_id is not None and page_cache.usable(connection):
                return iter(page_cache.read(self._slice_key, self.guild_id, cursor, fetch))
            return iter(fetch())


def _prepared_cursor(connection):
    """A cursor of ``connection`` (Django's wrapper: tenant, query log, errors) whose statements
    PostgreSQL prepares: parsed and planned once per pooled connection, then only executed.

    Planning the posts page (a four-table join under row-level security) cost PostgreSQL more than
    running it (issue 17). Only the SQL ``_JsonTextRows`` reuses goes through here: one statement per
    list and page, whatever the guild (the guild is a parameter). psycopg keeps track of what it
    prepared on the connection and forgets it on a rollback; nothing else on this connection is
    prepared (Django's own cursors bind on the client). Not while queries are logged (DEBUG, tests
    capturing queries): the log then shows the statement as sent, values in place."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, **kwargs):
            conn = self.connection
            threshold = conn.prepare_threshold  # None on Django's connections: nothing is prepared
            conn.prepare_threshold = _PREPARE_ONLY_WHEN_ASKED
            try:
                return super().execute(query, params, prepare=True)
            finally:
                conn.prepare_threshold = threshold

    connection.ensure_connection()
    connection.validate_thread_sharing()
    return connection.make_cursor(PreparedCursor(connection.connection))


_PREPARE_ONLY_WHEN_ASKED = 2**31 - 1  # a count never reached: only ``prepare=True`` prepares


_COMPILED: dict = {}  # (view class, plan, view's key, slice, database) -> (sql, params); oldest out first
_COMPILED_MAX = 512


class ValuesListMixin:
    """``list()`` of a GenericViewSet from ``values_list()`` rows when the serializer can be planned
    (same body, same pagination, same filters and scope: the queryset is the view's own)."""

    def list_sql_key(self):
        """A key that determines this list's queryset (for ``_JsonTextRows`` to reuse its SQL), or
        None: the queryset is built and compiled on every request. Return one only when everything
        the queryset depends on is in it (the guild, and no filter asked for)."""
        return None

    def list(self, request, *args, **kwargs):
        plan = plan_for(self.get_serializer_class())
        if plan is None:
            return super().list(request, *args, **kwargs)
        if plan.json_text_ready(request):
            key = self.list_sql_key()

            def build():
                return plan.json_text_queryset(self.filter_queryset(self.get_queryset()))

            if key is None:
                built = build()  # now, as before: the view checks its filters before the page
                rows = _JsonTextRows(lambda: built, built.db)
            else:
                db = router.db_for_read(plan.model)
                rows = _JsonTextRows(build, db, (type(self), id(plan), key), guild_id=getattr(self, "guild_id", None))
            page = self.paginate_queryset(rows)
            if page is None:
                return Response(plan.json_text(rows))
            return self.get_paginated_response(plan.json_text(page))
        queryset = plan.queryset(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(plan.render(queryset))
        return self.get_paginated_response(plan.render(page))
