from tests.helpers.api import admin_client, api_settings  # noqa: F401
