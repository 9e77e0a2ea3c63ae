"""manage.py earnings (the JSON contract), GET earnings and the earnings CSV agree to the cent."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.earnings.test_selectors import brief  # noqa: F401 - the hand-computed campaign
from tests.factories import make_campaign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

RANGE = ["--start", "2026-11-01", "--end", "2026-12-01"]


def _command(*args) -> dict:
    out = io.StringIO()
    call_command("earnings", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_command_json_is_the_contract(guild, brief):  # noqa: F811
    campaign, p = brief
    doc = _command("--guild", str(guild.pk), *RANGE)
    contract = {"guild_id", "start", "end", "creators", "total", "held_total"}
    assert set(doc) - contract == {"bonuses", "bonus_total"}  # the documented extra keys (weekly bonuses)
    assert contract <= set(doc) and (doc["bonuses"], doc["bonus_total"]) == ([], {})
    assert doc["guild_id"] == str(guild.pk)
    assert doc["start"] == "2026-11-01T00:00:00+00:00" and doc["end"] == "2026-12-02T00:00:00+00:00"
    assert doc["total"] == {"USD": "75.31"} and doc["held_total"] == {"USD": "24.69"}
    creator = doc["creators"][0]
    assert set(creator) == {"creator_id", "discord_user_id", "username", "capped", "amount", "held_amount", "posts"}
    assert len(creator["discord_user_id"]) == 19
    assert set(creator["posts"][0]) == {
        "post_id", "campaign_id", "status", "currency", "views_payable", "min_views", "rate_per_1000",
        "post_cap", "amount", "held", "hold_reason",
    }  # fmt: skip
    assert creator["posts"][0]["campaign_id"] == campaign.pk


def test_command_filters_by_campaign(guild, brief):  # noqa: F811
    other = make_campaign(guild)
    assert _command("--guild", str(guild.pk), "--campaign", str(other.pk), "--period", "all")["creators"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "all"], "No guild"),
        ([], "Give --period, or --start and --end."),
        (["--start", "2026-11-01"], "--end: Give both start and end."),
        (["--start", "2026-11-05", "--end", "2026-11-01"], "--end: end must not be before start."),
        (["--start", "yesterday", "--end", "2026-11-01"], "--start: Date has wrong format"),
        (["--period", "all", "--start", "2026-11-01", "--end", "2026-11-02"], "--period: Give either period"),
    ],
)
def test_bad_arguments_give_a_clear_error(guild, args, message):
    guild_id = "1300000000000000999" if args == ["--period", "all"] else str(guild.pk)
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("earnings", "--guild", guild_id, *args)


def test_bad_ids_are_refused(guild):
    with pytest.raises(CommandError, match="--guild must be a numeric id"):
        call_command("earnings", "--guild", "abc", "--period", "all")
    with pytest.raises(CommandError, match=f"Guild {guild.pk} has no campaign 5"):
        call_command("earnings", "--guild", str(guild.pk), "--campaign", "5", "--period", "all")


def test_table_output_names_held_posts(guild, brief):  # noqa: F811
    out = io.StringIO()
    call_command("earnings", "--guild", str(guild.pk), *RANGE, stdout=out)
    assert "HELD: Views spiked without engagement" in out.getvalue()
    assert "Total 75.31 USD, held 24.69 USD" in out.getvalue()


def test_api_json_equals_the_command(admin_client, guild, brief):  # noqa: F811
    r = admin_client.get(f"/api/v1/guilds/{guild.pk}/earnings", {"start": "2026-11-01", "end": "2026-12-01"})
    assert r.status_code == 200
    assert r.json() == _command("--guild", str(guild.pk), *RANGE)


def test_csv_equals_the_json(admin_client, guild, brief):  # noqa: F811
    doc = _command("--guild", str(guild.pk), *RANGE)
    r = admin_client.get(
        f"/api/v1/guilds/{guild.pk}/exports/earnings.csv", {"start": "2026-11-01", "end": "2026-12-01"}
    )
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    posts = {int(r["post_id"]): r for r in rows if r["row"] == "post"}
    totals = {r["username"]: r for r in rows if r["row"] == "total"}
    for creator in doc["creators"]:
        for post in creator["posts"]:
            assert posts[post["post_id"]]["amount"] == post["amount"]
            assert posts[post["post_id"]]["views_payable"] == str(post["views_payable"])
        assert totals[creator["username"]]["amount"] == creator["amount"]["USD"]
        assert totals[creator["username"]]["held_amount"] == creator["held_amount"]["USD"]
        assert totals[creator["username"]]["capped"] == str(creator["capped"])
    assert sum(Decimal(t["amount"]) for t in totals.values()) == Decimal(doc["total"]["USD"])
    assert len(posts) == sum(len(c["posts"]) for c in doc["creators"])


def test_bad_period_is_a_400_in_the_error_shape(admin_client, guild):
    r = admin_client.get(f"/api/v1/guilds/{guild.pk}/exports/earnings.csv", {"start": "2026-11-01"})
    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {"end": ["Give both start and end."]}
    r = admin_client.get(f"/api/v1/guilds/{guild.pk}/earnings", {"campaign": "999"})
    assert r.status_code == 404 and r.json()["error"]["message"] == "This guild has no such campaign."


def test_another_guilds_earnings_are_forbidden(admin_client, other_guild):
    r = admin_client.get(f"/api/v1/guilds/{other_guild.pk}/exports/earnings.csv", {"period": "all"})
    assert r.status_code in (403, 404)
