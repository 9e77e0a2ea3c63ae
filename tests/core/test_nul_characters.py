"""NUL characters cannot be stored by PostgreSQL: every surface refuses them with a 400, never a 500."""

import pytest

from tests.helpers.api import BOT_KEY, key_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


def test_a_json_body_with_a_nul_character_is_a_400(admin_client, guild, bypass):
    from tracking.models import ClientAccount

    r = admin_client.post(
        f"/api/v1/guilds/{guild.pk}/client-accounts", '{"name": "Brand\\u0000X"}', content_type="application/json"
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "parse_error" and "NUL" in r.json()["error"]["message"]
    with bypass():
        assert not ClientAccount.objects.filter(guild=guild).exists()


def test_a_form_body_with_a_nul_character_is_a_400(admin_client, guild):
    r = admin_client.post(
        f"/api/v1/guilds/{guild.pk}/client-accounts",
        "name=Brand%00X",
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 400 and "NUL" in r.json()["error"]["message"]


def test_a_query_string_with_a_nul_character_is_a_400(guild):
    r = key_client(BOT_KEY).get(f"/api/v1/bot/guilds/{guild.pk}/leaderboard?period=week%00")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "nul_character"
