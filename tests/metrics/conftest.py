"""Fixtures shared with other apps (tests/helpers/, tests/fakes/): the fake Apify API wired into settings
(runs), the configured Discord application (reports and bonuses), a creator with a verified profile
and a brand (caption checks)."""

from tests.fakes.apify_server import apify_server  # noqa: F401
from tests.helpers.apify import apify  # noqa: F401
from tests.helpers.discord import discord_settings  # noqa: F401
from tests.helpers.submissions import (  # noqa: F401
    brand,
    maya,
    maya_tiktok,
    screenshots_in_tmp,
    submit,
)
