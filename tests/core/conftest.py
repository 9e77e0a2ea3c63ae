"""The REST API's fixtures (tests/helpers/api.py, shared with other apps), for core's API plumbing:
errors, NUL refusals, snowflake ids, the cross-guild matrix."""

from tests.helpers.api import admin_client, api_settings  # noqa: F401
