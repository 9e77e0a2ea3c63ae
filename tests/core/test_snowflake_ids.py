"""Discord ids are 64-bit snowflakes: guilds and members created since mid-2022 have 19 digits.

Every route takes any id a signed 64-bit integer holds (our bigint columns); anything larger is
"not found", never a server error from an overflowing query.
"""

from __future__ import annotations

import pytest
from django.test import Client

from core.snowflakes import MAX_ID, is_snowflake, parse_id
from guilds.models import Creator, Guild
from tests.factories import make_guild
from tests.helpers.api import ADMINISTRATOR, BOT_KEY, grant, key_client, login, make_dashboard_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]

TODAYS_GUILD = 1305873342910234624  # a real-looking id of a server created in 2024 (19 digits)
TODAYS_MEMBER = "1187330951225446401"


def test_a_19_digit_guild_registers_and_is_served_by_the_bot_api(bypass):
    bot = key_client(BOT_KEY)
    r = bot.put(f"/api/v1/bot/guilds/{TODAYS_GUILD}", {"name": "Clip Lab"}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["id"] == str(TODAYS_GUILD)
    r = bot.post(
        f"/api/v1/bot/guilds/{TODAYS_GUILD}/creators",
        {"discord_user_id": TODAYS_MEMBER, "username": "maya"},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    assert bot.get(f"/api/v1/bot/guilds/{TODAYS_GUILD}/creators/{TODAYS_MEMBER}/stats").status_code == 200
    assert bot.get(f"/api/v1/bot/guilds/{TODAYS_GUILD}/leaderboard").status_code == 200
    with bypass():
        assert Guild.objects.get(pk=TODAYS_GUILD).name == "Clip Lab"
        assert Creator.objects.get(guild_id=TODAYS_GUILD).discord_user_id == TODAYS_MEMBER


def test_the_largest_signed_64_bit_id_is_a_guild_like_any_other():
    r = key_client(BOT_KEY).put(f"/api/v1/bot/guilds/{MAX_ID}", {"name": "Edge"}, content_type="application/json")
    assert r.status_code == 201, r.content


@pytest.mark.parametrize("too_big", [str(MAX_ID + 1), "9999999999999999999", "12345678901234567890"])
def test_ids_past_2_63_are_not_found_not_a_server_error(too_big, bypass):
    bot = key_client(BOT_KEY)
    r = bot.put(f"/api/v1/bot/guilds/{too_big}", {"name": "Overflow"}, content_type="application/json")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    with bypass():
        assert not Guild.objects.filter(name="Overflow").exists()


def _admin_of(guild: Guild, *, bearer: bool) -> Client:
    user = make_dashboard_user()
    grant(user, {guild: ADMINISTRATOR})
    return login(Client(), user, bearer=bearer)


def test_a_19_digit_guild_admin_reads_the_guild_api():
    guild = make_guild(id=TODAYS_GUILD, name="Clip Lab")
    client = _admin_of(guild, bearer=True)
    r = client.get(f"/api/v1/guilds/{TODAYS_GUILD}/")
    assert r.status_code == 200 and r.json()["id"] == str(TODAYS_GUILD)
    assert client.get(f"/api/v1/guilds/{TODAYS_GUILD}/posts").status_code == 200


def test_dashboard_pages_match_19_digit_ids_and_refuse_overflow():
    guild = make_guild(id=TODAYS_GUILD, name="Clip Lab")
    client = _admin_of(guild, bearer=False)
    r = client.get(f"/dashboard/{TODAYS_GUILD}/")
    assert r.status_code == 200 and b"Clip Lab" in r.content
    assert client.get(f"/dashboard/{MAX_ID + 1}/").status_code == 404


def test_a_19_digit_channel_id_is_a_valid_setting_and_20_digits_is_refused(bypass):
    guild = make_guild(id=TODAYS_GUILD)
    admin_client = _admin_of(guild, bearer=True)
    url = f"/api/v1/guilds/{guild.pk}/"
    ok = admin_client.patch(url, {"logs_channel_id": "1305873401233510400"}, content_type="application/json")
    assert ok.status_code == 200, ok.content
    bad = admin_client.patch(url, {"logs_channel_id": "13058734012335104001"}, content_type="application/json")
    assert bad.status_code == 400
    assert "15 to 19 digits" in bad.json()["error"]["fields"]["logs_channel_id"][0]
    with bypass():
        assert Guild.objects.get(pk=guild.pk).logs_channel_id == "1305873401233510400"


@pytest.mark.parametrize(
    ("value", "parsed", "snowflake"),
    [
        ("1305873342910234624", 1305873342910234624, True),
        ("80351110224678912", 80351110224678912, True),  # a 2015 account: 17 digits
        (str(MAX_ID), MAX_ID, True),
        (str(MAX_ID + 1), None, False),
        ("0", None, False),
        ("12", 12, False),  # a row id, not a Discord id
        ("-5", None, False),
        ("１２３４５６７８９０１２３４５６", None, False),  # fullwidth digits are not digits here
        (True, None, False),
    ],
)
def test_parse_id_and_is_snowflake(value, parsed, snowflake):
    assert parse_id(value) == parsed
    assert is_snowflake(value) is snowflake
