"""Fixtures shared with other apps, imported from tests/helpers/."""

from tests.helpers.api import admin_client, api_settings  # noqa: F401
