"""The payout queue as files for whoever pays: approved statements with each creator's payout address
in full. The CSV and the XLSX are built from the same rows (``payout_rows``), so they agree cell for
cell; the XLSX writes money as numbers (Decimal, shown with two decimals), everything else as text
or whole numbers, and never a formula.
"""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font

from earnings.models import Statement
from earnings.payout_methods import reveal

PAYOUT_HEADER = [
    "statement_id",
    "creator_id",
    "discord_user_id",
    "username",
    "campaign_id",
    "period_start",
    "period_end",
    "currency",
    "amount",
    "method",
    "address",
]
MONEY_FORMAT = "#,##0.00"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def payout_rows(guild_id: int) -> list[list]:
    """One row per approved statement (by currency, creator, id), address decrypted (admin-only callers)."""
    statements = (
        Statement.objects.for_guild(guild_id)
        .filter(status=Statement.Status.APPROVED)
        .select_related("creator", "creator__payout_method")
        .order_by("currency", "creator_id", "pk")
    )
    return [_payout_row(s) for s in statements]


def _payout_row(statement: Statement) -> list:
    creator = statement.creator
    method = getattr(creator, "payout_method", None)
    return [
        statement.pk,
        creator.pk,
        creator.discord_user_id,
        creator.username,
        statement.campaign_id,
        statement.period_start.isoformat(),
        statement.period_end.isoformat(),
        statement.currency,
        statement.amount,
        method.kind if method else "",
        reveal(method) if method else "",
    ]


def xlsx_bytes(*, title: str, header: list[str], rows: list[list]) -> bytes:
    """One sheet: a bold header row, then the rows. Decimal cells are numbers formatted #,##0.00; text
    is stored as text (a username starting with "=" stays a name, never a formula); integers stay
    integers; None is an empty cell."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in rows:
        sheet.append([None if v == "" else v for v in values])
        for cell, value in zip(sheet[sheet.max_row], values, strict=True):
            if isinstance(value, Decimal):
                cell.number_format = MONEY_FORMAT
            elif isinstance(value, str) and value:
                cell.value, cell.data_type = value, TYPE_STRING  # never read as a formula
    sheet.freeze_panes = "A2"
    for column, name in zip(sheet.columns, header, strict=True):
        width = max([len(name), *(len(str(c.value)) for c in column if c.value is not None)])
        sheet.column_dimensions[column[0].column_letter].width = min(60, width + 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
