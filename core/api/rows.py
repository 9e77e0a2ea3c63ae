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
tests/core/test_values_rows.py holds the two ways to the same body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.relations import ManyRelatedField, PrimaryKeyRelatedField, RelatedField
from rest_framework.response import Response
from rest_framework.settings import api_settings


@dataclass(frozen=True)
class RowPlan:
    names: tuple[str, ...]
    lookups: tuple[str, ...]
    fields: tuple[serializers.Field, ...]

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


@cache
def plan_for(serializer_class: type[serializers.ModelSerializer]) -> RowPlan | None:
    """How to build ``serializer_class``'s list body from columns, or None when it cannot be."""
    meta = getattr(serializer_class, "Meta", None)
    model = getattr(meta, "model", None)
    if model is None or serializer_class.to_representation is not serializers.ModelSerializer.to_representation:
        return None
    names, lookups, fields = [], [], []
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
    return RowPlan(tuple(names), tuple(lookups), tuple(fields))


class ValuesListMixin:
    """``list()`` of a GenericViewSet from ``values_list()`` rows when the serializer can be planned
    (same body, same pagination, same filters and scope: the queryset is the view's own)."""

    def list(self, request, *args, **kwargs):
        plan = plan_for(self.get_serializer_class())
        if plan is None:
            return super().list(request, *args, **kwargs)
        queryset = plan.queryset(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(plan.render(queryset))
        return self.get_paginated_response(plan.render(page))
