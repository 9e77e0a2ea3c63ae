"""Fixtures shared with other apps, imported from tests/helpers/."""

from tests.helpers.discord import discord_settings  # noqa: F401
