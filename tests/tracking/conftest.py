"""Fixtures shared with other apps (tests/helpers/, tests/fakes/): the REST API's settings (schemathesis,
client accounts), a creator with a verified TikTok profile and a brand (submission, review, verification,
screenshots, admin actions), the fake Apify server (the track command)."""

from tests.fakes.apify_server import apify_server  # noqa: F401
from tests.helpers.api import api_settings  # noqa: F401
from tests.helpers.submissions import (  # noqa: F401
    brand,
    maya,
    maya_tiktok,
    screenshots_in_tmp,
    submit,
)
