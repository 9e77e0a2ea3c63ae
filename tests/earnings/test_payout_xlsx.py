"""The payout queue as XLSX for whoever pays: the CSV's rows and columns cell for cell, amounts as
numbers with two decimals, payout addresses in full, admins only, audited, never a formula."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from openpyxl import load_workbook

from core.tenancy import guild_scope
from earnings.payout_methods import set_payout_method
from earnings.services import approve_statement, create_statements
from guilds.models import DashboardAuditLog
from tests.earnings.test_statements import WEEK, _campaign_with_money
from tests.factories import make_creator, make_post, make_profile, make_snapshot
from tests.helpers.api import MANAGE_GUILD, grant, login, make_dashboard_user
from tracking.api import _cell
from tracking.models import Post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _approved_queue(guild):
    """maya (PayPal), theo (held: 0.00 payable) and "=HYPERLINK(...)" (a wallet), all approved."""
    campaign, maya, theo = _campaign_with_money(guild)
    tricky = make_creator(guild, username='=HYPERLINK("http://evil.example","x")')
    post = make_post(
        guild,
        profile=make_profile(guild, creator=tricky),
        client_account=campaign.client_account,
        campaign=campaign,
        submitted_at=WEEK[0],
        counting_ends_at=WEEK[0] + (WEEK[1] - WEEK[0]) * 4,
        status=Post.Status.TRACKING,
    )
    make_snapshot(post, views=0, at=WEEK[0])
    make_snapshot(post, views=12_345, at=WEEK[0] + (WEEK[1] - WEEK[0]) / 7)
    with guild_scope(guild.pk):
        set_payout_method(guild_id=guild.pk, creator=maya, kind="paypal", address="maya.clips@example.com")
        set_payout_method(guild_id=guild.pk, creator=tricky, kind="wallet", address="0x" + "ab12" * 10)
        made = create_statements(guild_id=guild.pk, campaign=campaign, start=WEEK[0], end=WEEK[1], actor="t")
        for statement in made:
            approve_statement(guild_id=guild.pk, statement_id=statement.pk, actor="t")
    return made


def _csv_rows(client, guild) -> list[list[str]]:
    r = client.get(f"/api/v1/guilds/{guild.pk}/exports/payouts.csv")
    assert r.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))


def _as_csv_text(cell) -> str:
    """What the CSV writes for the same value (money: two decimals; text: formula-guarded)."""
    if cell.value is None:
        return ""
    if cell.number_format == "#,##0.00":
        return f"{Decimal(str(cell.value)):.2f}"
    return _cell(cell.value)


def test_xlsx_rows_equal_csv_rows_cell_for_cell(admin_client, guild, settings, bypass):
    settings.PAYOUT_ENCRYPTION_KEY = Fernet.generate_key().decode()
    made = _approved_queue(guild)
    assert len(made) == 3
    r = admin_client.get(f"/api/v1/guilds/{guild.pk}/exports/payouts.xlsx")
    assert r.status_code == 200 and r["Content-Type"] == XLSX
    assert r["Content-Disposition"] == f'attachment; filename="payouts-{guild.pk}.xlsx"'
    sheet = load_workbook(io.BytesIO(r.content)).active
    xlsx_rows = list(sheet.iter_rows())
    csv_rows = _csv_rows(admin_client, guild)
    assert len(xlsx_rows) == len(csv_rows) == 4  # header + three approved statements
    assert [[_as_csv_text(c) for c in row] for row in xlsx_rows] == csv_rows
    header = [c.value for c in xlsx_rows[0]]
    amount = header.index("amount")
    amounts = sorted((row[amount].value, row[amount].data_type, row[amount].number_format) for row in xlsx_rows[1:])
    assert amounts == [(0, "n", "#,##0.00"), (12, "n", "#,##0.00"), (18.52, "n", "#,##0.00")]  # 12,345 × 1.50
    by_name = {row[header.index("username")].value: row for row in xlsx_rows[1:]}
    evil = by_name['=HYPERLINK("http://evil.example","x")']
    assert evil[header.index("username")].data_type == "s"  # text, never a formula
    assert evil[header.index("address")].value == "0x" + "ab12" * 10
    assert by_name["maya"][header.index("address")].value == "maya.clips@example.com"
    assert by_name["maya"][header.index("discord_user_id")].data_type == "s"  # a snowflake stays exact
    with bypass():
        exports = list(DashboardAuditLog.objects.filter(action="payouts.export").values_list("after", flat=True))
    assert {"rows": 3, "format": "xlsx"} in exports


def test_xlsx_export_is_for_admins_only(guild, settings):
    settings.PAYOUT_ENCRYPTION_KEY = Fernet.generate_key().decode()
    user = make_dashboard_user(username="bob", discord_id="80351110224678913")
    grant(user, {guild: MANAGE_GUILD})
    r = login(Client(), user, bearer=True).get(f"/api/v1/guilds/{guild.pk}/exports/payouts.xlsx")
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "Only the guild's owner or an administrator can export payout addresses."


def test_empty_queue_is_a_header_only_workbook(admin_client, guild):
    r = admin_client.get(f"/api/v1/guilds/{guild.pk}/exports/payouts.xlsx")
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows == [tuple(_csv_rows(admin_client, guild)[0])]
