"""A first run that leads somewhere: the demo admin login (DEBUG, this machine only), registering a
server from the dashboard, the bot-install link, and manage.py's one-line configuration errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from core.tenancy import rls_bypass
from dashboard_auth.guild_access import store_manageable_guilds
from guilds.models import DashboardAuditLog, Guild, GuildBudgetConfig
from integrations.discord.client import ADMINISTRATOR, MANAGE_GUILD, DiscordGuild
from tests.dashboard.conftest import log_in, use_cookies

pytestmark = pytest.mark.django_db

NEW_SERVER = 1_312_345_678_901_234_567
THEIR_SERVER = 1_398_765_432_109_876_543


# --- log in as the demo admin ------------------------------------------------------------------


def test_landing_offers_the_demo_login_in_debug_from_this_machine(client, settings):
    settings.DEBUG = True
    assert "Log in as the demo admin" in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("debug", "meta"),
    [(False, {}), (True, {"REMOTE_ADDR": "203.0.113.9"}), (True, {"HTTP_X_FORWARDED_FOR": "203.0.113.9"})],
    ids=["debug off", "another machine", "through a proxy"],
)
def test_the_demo_login_does_not_exist_elsewhere(settings, guild, debug, meta):
    settings.DEBUG = debug
    client = Client(**meta)
    assert "demo admin" not in client.get("/").content.decode()
    response = client.post("/demo-login/")
    assert response.status_code == 404
    assert settings.DASHBOARD_ACCESS_COOKIE_NAME not in response.cookies


def test_the_demo_admin_opens_every_active_server_as_owner(settings, guild, other_guild):
    settings.DEBUG = True
    client = Client()
    response = client.post("/demo-login/")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    picker = client.get("/dashboard/").content.decode()
    assert guild.name in picker and other_guild.name in picker and "Owner" in picker
    overview = client.get(f"/dashboard/{guild.pk}/")
    assert overview.status_code == 200
    budget = client.get(f"/dashboard/{guild.pk}/budget/").content.decode()
    assert "Save budget" in budget and "read only" not in budget  # an owner may change settings


# --- register a server from the dashboard ------------------------------------------------------


def _login_with_servers(client, guild):
    who = log_in(guilds=[(guild, "admin")])
    store_manageable_guilds(
        user_id=who.user.pk,
        discord_guilds=[
            DiscordGuild(id=str(guild.pk), name=guild.name, icon=None, owner=False, permissions=ADMINISTRATOR),
            DiscordGuild(id=str(NEW_SERVER), name="Clip Club", icon=None, owner=True, permissions=0),
            DiscordGuild(id=str(THEIR_SERVER), name="Only Managing", icon=None, owner=False, permissions=MANAGE_GUILD),
        ],
    )
    use_cookies(client, who)
    return who


def test_the_picker_offers_the_servers_i_own_that_are_not_registered(client, guild, settings):
    settings.DISCORD_APPLICATION_ID = "1111111111111111111"
    _login_with_servers(client, guild)
    page = client.get("/dashboard/").content.decode()
    assert "Servers you can register" in page and "Clip Club" in page
    assert "Only Managing" not in page  # Manage Server alone may review, not register
    assert f"guild_id={NEW_SERVER}" in page and "client_id=1111111111111111111" in page


def test_registering_creates_the_guild_audited_and_opens_it(client, guild):
    who = _login_with_servers(client, guild)
    response = client.post("/dashboard/register/", {"guild_id": str(NEW_SERVER)})
    assert response.status_code == 302 and response["Location"] == f"/dashboard/{NEW_SERVER}/"
    with rls_bypass(reason="test"):
        created = Guild.objects.get(pk=NEW_SERVER)
        assert created.name == "Clip Club" and created.active
        assert GuildBudgetConfig.objects.filter(guild_id=NEW_SERVER).exists()
        entry = DashboardAuditLog.objects.get(guild_id=NEW_SERVER, action="guild.register")
    assert entry.actor_user_id == who.user.pk
    assert client.get(f"/dashboard/{NEW_SERVER}/").status_code == 200
    assert "Servers you can register" not in client.get("/dashboard/").content.decode()  # nothing left to offer


@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        (str(THEIR_SERVER), 403, "Only a server you own or administer"),
        ("1398765432109876544", 403, "Only a server you own or administer"),
        ("not-a-server", 400, "Choose a server from the list"),
        ("99999999999999999999999", 400, "Choose a server from the list"),
    ],
)
def test_registering_anything_else_is_refused_and_changes_nothing(client, guild, value, status, message):
    _login_with_servers(client, guild)
    with rls_bypass(reason="test"):
        before = Guild.objects.count()
    response = client.post("/dashboard/register/", {"guild_id": value})
    assert response.status_code == status
    assert message in response.content.decode()
    with rls_bypass(reason="test"):
        assert Guild.objects.count() == before


def test_without_an_application_id_the_page_says_what_to_set(client, guild, settings):
    settings.DISCORD_APPLICATION_ID = ""
    _login_with_servers(client, guild)
    page = client.get("/dashboard/").content.decode()
    assert "set <code>DISCORD_APPLICATION_ID</code>" in page
    assert "discord.com/oauth2/authorize" not in page


# --- operators ---------------------------------------------------------------------------------


def test_a_missing_setting_is_one_line_not_a_traceback():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_", "API_", "DATABASE_"))}
    env["DJANGO_DEBUG"] = "false"
    root = Path(settings.BASE_DIR)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off")
    assert "Traceback" not in result.stderr


def test_demo_data_prints_links_for_the_port_it_serves_on(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo_data", "--base-url", "http://127.0.0.1:8123")
    out = capsys.readouterr().out
    assert "(http://127.0.0.1:8123/admin/)" in out
    assert "http://127.0.0.1:8123/ then 'Log in as the demo admin'" in out
    assert ":8000" not in out
