"""Fixtures shared with other apps, imported from tests/helpers/ and tests/fakes/."""

from tests.fakes.apify_server import apify_server  # noqa: F401
from tests.helpers.api import api_settings  # noqa: F401
from tests.helpers.submissions import (  # noqa: F401
    brand,
    maya,
    maya_tiktok,
    screenshots_in_tmp,
    submit,
)
