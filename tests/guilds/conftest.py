"""The REST API's fixtures (tests/helpers/api.py, shared with other apps), for the guild API, the bot
API and the settings services."""

from tests.helpers.api import admin_client, api_settings  # noqa: F401
