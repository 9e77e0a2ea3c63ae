"""Fixtures shared with other apps, imported from tests/helpers/ and tests/fakes/."""

from tests.fakes.apify_server import apify_server  # noqa: F401
