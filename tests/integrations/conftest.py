"""The fake Apify API, bare (``apify_server``, the client tests) and wired into settings (``apify``,
the webhook and verification tests)."""

from tests.fakes.apify_server import apify_server  # noqa: F401
from tests.helpers.apify import apify  # noqa: F401
