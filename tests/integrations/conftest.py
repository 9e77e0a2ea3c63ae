"""Fixtures of the integrations' tests, shared with other apps (tests/helpers/, tests/fakes/): the fake
Apify API, bare (``apify_server``, the client tests) and wired into settings (``apify``, the webhook
and verification tests); a configured Discord application and Discord faked at the transport
(``discord_settings``, ``discord``)."""

from tests.fakes.apify_server import apify_server  # noqa: F401
from tests.helpers.apify import apify  # noqa: F401
from tests.helpers.discord import discord, discord_settings  # noqa: F401
