"""The fake Apify API fixture, for these tests (tests/conftest.py may import it too; that is harmless)."""

from tests.fakes.apify_server import apify_server  # noqa: F401
