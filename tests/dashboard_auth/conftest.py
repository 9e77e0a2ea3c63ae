"""Fixtures shared with other apps, imported from tests/helpers/."""

from tests.helpers.api import admin_client, api_settings, revoked_key  # noqa: F401
from tests.helpers.discord import discord_settings  # noqa: F401
