"""Pagination of list endpoints: ``?page=`` and ``?page_size=`` as before, without counting every row.

DRF's PageNumberPagination runs ``COUNT(*)`` over the whole filtered list on every page (on a large
guild that cost more than the page itself, issue 17). Here a page reads ``page_size + 1`` rows: the
extra row says whether there is a next page, and ``count`` is

- exact and free when this page is the last one (everything before it plus what it holds);
- exact with ``?count=exact`` (one ``COUNT(*)``, on demand);
- ``null`` otherwise: more rows follow and nobody asked for the total.

The body keeps DRF's shape (``count``, ``next``, ``previous``, ``results``), so existing clients keep
working; only ``count`` may now be ``null`` on a page that is not the last.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination, _positive_int
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

EXACT = "exact"
# Far past any real list, below every database's 64-bit OFFSET: a larger page is simply not there.
_MAX_OFFSET = 10**12


class ApiPagination(BasePagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    page_query_param = "page"
    count_query_param = "count"
    invalid_page_message = "Invalid page."
    always_count = False  # True: every page carries the exact total (a list whose count is its point)

    def get_page_size(self, request) -> int:
        try:
            return _positive_int(
                request.query_params[self.page_size_query_param], strict=True, cutoff=self.max_page_size
            )
        except (KeyError, ValueError):
            return self.page_size

    def _page_number(self, request) -> int | None:
        """The page asked for (1 by default); None for ``last``."""
        raw = request.query_params.get(self.page_query_param) or "1"
        if raw == "last":
            return None
        try:
            return _positive_int(raw, strict=True)
        except ValueError:
            raise NotFound(self.invalid_page_message) from None

    def _count_wanted(self, request) -> bool:
        raw = request.query_params.get(self.count_query_param)
        if raw is None or raw == "":
            return False
        if raw != EXACT:
            message = f"count can only be {EXACT!r} (the exact total, counted on demand), or left out."
            raise ValidationError({self.count_query_param: [message]})
        return True

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self.get_page_size(request)
        number = self._page_number(request)
        exact = self._count_wanted(request)
        self.count = None
        if number is None:  # ?page=last: needs the total
            self.count = queryset.count()
            number = max(1, -(-self.count // size))
        offset = (number - 1) * size
        if offset > _MAX_OFFSET:
            raise NotFound(self.invalid_page_message)
        rows = list(queryset[offset : offset + size + 1])
        self.has_next = len(rows) > size
        rows = rows[:size]
        if number > 1 and not rows:
            raise NotFound(self.invalid_page_message)
        if not self.has_next:
            self.count = offset + len(rows)
        elif (exact or self.always_count) and self.count is None:
            self.count = queryset.count()
        self.number = number
        return rows

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number <= 1:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123, "description": "The total."}
                if self.always_count
                else {
                    "type": "integer",
                    "nullable": True,
                    "example": 123,
                    "description": "The total: exact on the last page and with ?count=exact; "
                    "null on any other page (the total is not counted unless asked for).",
                },
                "next": {"type": "string", "nullable": True, "format": "uri", "example": "https://host/x?page=4"},
                "previous": {"type": "string", "nullable": True, "format": "uri", "example": "https://host/x?page=2"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        count = (
            []
            if self.always_count
            else [
                {
                    "name": self.count_query_param,
                    "required": False,
                    "in": "query",
                    "description": "`exact` to count the total on every page (an extra query); without it "
                    "`count` is given on the last page only.",
                    "schema": {"type": "string", "enum": [EXACT]},
                }
            ]
        )
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "A page number within the paginated result set (1 by default).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page ({self.page_size} by default, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
            *count,
        ]


class CountedPagination(ApiPagination):
    """Every page carries the exact total: for short lists whose number is what people read (the
    review queue's count is the overview's)."""

    always_count = True
