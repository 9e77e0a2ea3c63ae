"""Fixtures shared with other apps (tests/helpers/): the REST API's (tokens, service keys, Login with
Discord) and the configured Discord application (security alerts)."""

from tests.helpers.api import admin_client, api_settings, revoked_key  # noqa: F401
from tests.helpers.discord import discord_settings  # noqa: F401
