"""The Money page's bulk approval (all or none) and the earnings-per-creator pages: the numbers a
guild admin reads there are /stats' and the API's."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.tenancy import guild_scope
from earnings.models import Statement
from earnings.selectors import creator_money
from earnings.services import approve_statement, book_bonuses, create_statements
from metrics.models import BonusAward
from tests.earnings.test_statements import WEEK, _campaign_with_money
from tests.factories import make_bonus_rule, make_creator, make_guild
from tests.helpers.api import api_settings, grant, login, make_dashboard_user  # noqa: F401

pytestmark = pytest.mark.django_db


def _pending(guild):
    campaign, maya, theo = _campaign_with_money(guild)
    with guild_scope(guild.pk):
        made = {
            s.creator_id: s
            for s in create_statements(guild_id=guild.pk, campaign=campaign, start=WEEK[0], end=WEEK[1], actor="t")
        }
    return campaign, maya, theo, made[maya.pk], made[theo.pk]


def _bulk(client, guild, *ids):
    return client.post(reverse("dashboard:statements-approve", args=[guild.pk]), {"statement": [str(i) for i in ids]})


def _status(bypass, statement) -> str:
    with bypass():
        return Statement.objects.get(pk=statement.pk).status


def _text(response) -> str:
    return html.unescape(response.content.decode())


# --- bulk approve -----------------------------------------------------------------------------------


def test_admin_approves_the_chosen_statements_at_once(admin_client, guild, bypass):
    *_, maya_s, theo_s = _pending(guild)
    page = _text(admin_client.get(reverse("dashboard:money", args=[guild.pk])))
    assert "Approve selected" in page
    assert f'value="{maya_s.pk}" id="statement-{maya_s.pk}" form="bulk-approve"' in page
    answer = _bulk(admin_client, guild, maya_s.pk, theo_s.pk)
    assert answer.status_code == 302
    assert "2 statements approved." in _text(admin_client.get(answer.url))
    assert (_status(bypass, maya_s), _status(bypass, theo_s)) == ("approved", "approved")


def test_one_already_approved_changes_nothing_and_the_page_says_which(admin_client, guild, bypass):
    *_, maya_s, theo_s = _pending(guild)
    with guild_scope(guild.pk):
        approve_statement(guild_id=guild.pk, statement_id=theo_s.pk, actor="staff:bo")
    answer = _bulk(admin_client, guild, maya_s.pk, theo_s.pk)
    assert answer.status_code == 409
    body = _text(answer)
    assert f"Nothing was approved: statement {theo_s.pk} is approved (only pending statements can be approved)." in body
    assert (
        f'id="statement-{maya_s.pk}" form="bulk-approve" aria-label="Choose statement {maya_s.pk} (maya)" checked'
        in body
    )
    assert _status(bypass, maya_s) == "pending"


def test_another_servers_statement_is_not_found_and_nothing_changes(admin_client, guild, bypass):
    *_, maya_s, _ = _pending(guild)
    *_, theirs, _ = _pending(make_guild())
    answer = _bulk(admin_client, guild, maya_s.pk, theirs.pk)
    assert answer.status_code == 404
    assert f"Nothing was approved: no statement {theirs.pk} in this server." in _text(answer)
    assert (_status(bypass, maya_s), _status(bypass, theirs)) == ("pending", "pending")
    assert _bulk(admin_client, guild, "abc").status_code == 400
    empty = admin_client.post(reverse("dashboard:statements-approve", args=[guild.pk]), {})
    assert empty.status_code == 400 and "Choose at least one pending statement." in _text(empty)


def test_a_manager_gets_no_boxes_and_cannot_bulk_approve(manager_client, guild, bypass):
    *_, maya_s, _ = _pending(guild)
    page = _text(manager_client.get(reverse("dashboard:money", args=[guild.pk])))
    assert "Approve selected" not in page and 'form="bulk-approve"' not in page
    assert _bulk(manager_client, guild, maya_s.pk).status_code == 403
    assert _status(bypass, maya_s) == "pending"


# --- earnings per creator ---------------------------------------------------------------------------


def _money_world(guild, bypass):
    """maya: 12.00 GBP earned, in an approved statement; theo: 4.50 GBP held; kai: a 25.00 EUR bonus."""
    campaign, maya, theo, maya_s, _ = _pending(guild)
    with guild_scope(guild.pk):
        approve_statement(guild_id=guild.pk, statement_id=maya_s.pk, actor="staff:bo")
    kai = make_creator(guild, username="kai")
    rule = make_bonus_rule(guild, name="10k club", amount=25, currency="EUR")
    with bypass():
        BonusAward.objects.create(
            guild=guild, creator=kai, rule=rule, week_start="2026-11-16", views_gained=12_000, amount=25, currency="EUR"
        )
    with guild_scope(guild.pk):
        book_bonuses(guild_id=guild.pk)
    return campaign, maya, theo, kai


ROW = re.compile(r'<tr data-creator="(\d+)">(.*?)</tr>', re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


def _rows(response) -> list[list[str]]:
    """Each table row's cells as text: [creator (first currency only), currency, earned, held, bonuses,
    pending payment, paid, to pay]."""
    out = []
    for creator_id, row in ROW.findall(response.content.decode()):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in CELL.findall(row)]
        out.append([creator_id, *cells])
    return out


def test_creators_page_shows_each_creators_money_as_stats_does(admin_client, guild, bypass):
    _, maya, theo, kai = _money_world(guild, bypass)
    money_page = _text(admin_client.get(reverse("dashboard:money", args=[guild.pk])))
    assert reverse("dashboard:money-creators", args=[guild.pk]) in money_page
    page = admin_client.get(reverse("dashboard:money-creators", args=[guild.pk]))
    assert page.status_code == 200
    rows = _rows(page)
    assert rows == [
        [str(maya.pk), "maya", "GBP", "12.00", "0.00", "0.00", "12.00", "0.00", "12.00"],
        [str(kai.pk), "kai", "EUR", "0.00", "0.00", "25.00", "0.00", "0.00", "25.00"],
        [str(theo.pk), "theo", "GBP", "0.00", "4.50", "0.00", "0.00", "0.00", "0.00"],
    ]
    from django.utils import timezone

    with guild_scope(guild.pk):
        (stats,) = creator_money(guild_id=guild.pk, creator_id=maya.pk, at=timezone.now())
    assert [str(stats.earned), str(stats.held), str(stats.paid), str(stats.to_pay)] == [
        "12.00",
        "0.00",
        "0.00",
        "12.00",
    ]


def test_creators_page_sorts_by_amount_and_paginates(admin_client, guild, bypass, monkeypatch):
    _, maya, theo, kai = _money_world(guild, bypass)
    url = reverse("dashboard:money-creators", args=[guild.pk])
    held = _rows(admin_client.get(url, {"sort": "-held"}))
    assert [r[0] for r in held] == [str(theo.pk), str(kai.pk), str(maya.pk)]
    bonuses = _rows(admin_client.get(url, {"sort": "-bonuses"}))
    assert bonuses[0][0] == str(kai.pk)
    assert [r[0] for r in _rows(admin_client.get(url, {"sort": "nonsense"}))][0] == str(maya.pk)
    monkeypatch.setattr("dashboard.views.MONEY_CREATORS_PER_PAGE", 2)
    second = admin_client.get(url, {"sort": "-earned", "page": 2})
    assert [r[0] for r in _rows(second)] == [str(theo.pk)]
    assert "Page 2 of 2" in _text(second)


def test_creators_page_costs_constant_queries(admin_client, guild, bypass, django_assert_max_num_queries):
    _money_world(guild, bypass)
    url = reverse("dashboard:money-creators", args=[guild.pk])
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for _ in range(3):
        _campaign_with_money(guild)
    with CaptureQueriesContext(connection) as many:
        assert len(_rows(admin_client.get(url))) == 3 + 6
    assert len(many) == len(few)
    with django_assert_max_num_queries(len(few)):
        admin_client.get(url, {"sort": "-paid"})


def test_creator_detail_shows_posts_statements_and_bonuses(admin_client, guild, bypass, django_assert_max_num_queries):
    campaign, maya, theo, kai = _money_world(guild, bypass)
    body = _text(admin_client.get(reverse("dashboard:money-creator", args=[guild.pk, maya.pk])))
    posts = re.search(r'data-testid="creator-posts">(.*?)</table>', body, re.S).group(1)
    assert "8,000" in posts and "12.00 GBP" in posts and campaign.name in posts
    statements = re.search(r'data-testid="creator-statements">(.*?)</table>', body, re.S).group(1)
    assert "approved" in statements and "12.00 GBP" in statements
    held = _text(admin_client.get(reverse("dashboard:money-creator", args=[guild.pk, theo.pk])))
    assert "held" in held and "4.50 GBP" in held
    bonus = _text(admin_client.get(reverse("dashboard:money-creator", args=[guild.pk, kai.pk])))
    assert "10k club" in bonus and "25.00 EUR" in bonus and "to pay" in bonus
    stranger = make_creator(make_guild(), username="stranger")
    assert admin_client.get(reverse("dashboard:money-creator", args=[guild.pk, stranger.pk])).status_code == 404
    with django_assert_max_num_queries(25):
        admin_client.get(reverse("dashboard:money-creator", args=[guild.pk, maya.pk]))


@pytest.mark.usefixtures("api_settings")
def test_the_api_gives_the_same_numbers_as_the_page(admin_client, guild, bypass):
    _, maya, theo, kai = _money_world(guild, bypass)
    rows = {r[0]: r for r in _rows(admin_client.get(reverse("dashboard:money-creators", args=[guild.pk])))}
    user = make_dashboard_user(username="ana", discord_id="80351110224678919")
    grant(user, {guild: 0x8})
    api = login(Client(), user, bearer=True)
    for creator in (maya, theo, kai):
        answer = api.get(f"/api/v1/guilds/{guild.pk}/creators/{creator.pk}/money")
        assert answer.status_code == 200
        (m,) = answer.json()["money"]
        keys = ("currency", "earned", "held", "bonuses", "approved", "paid", "to_pay")
        assert [m[k] for k in keys] == rows[str(creator.pk)][2:]
    stranger = make_creator(make_guild(), username="stranger")
    missing = api.get(f"/api/v1/guilds/{guild.pk}/creators/{stranger.pk}/money")
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "No such creator in this server.")
