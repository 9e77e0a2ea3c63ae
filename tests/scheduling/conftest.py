"""The fake Apify API for the `track --once` test."""

from tests.fakes.apify_server import apify_server  # noqa: F401
