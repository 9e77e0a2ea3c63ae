"""Fixtures for submissions and profiles: a creator with a verified TikTok profile, a brand, storage.

Used by tracking's tests (submission, review, verification, screenshots, admin actions) and metrics'
caption checks: their conftest.py imports the fixtures; a test module that stores screenshots or must
not see a developer's OpenAI settings asks for ``pytest.mark.usefixtures("screenshots_in_tmp")``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.tenancy import guild_scope
from tests.factories import make_client_account, make_creator, make_profile
from tracking.platforms import Platform
from tracking.screenshots import UploadedScreenshot

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
POST_URL = "https://www.tiktok.com/@maya/video/7234567890123456789"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture
def screenshots_in_tmp(settings, tmp_path, monkeypatch):
    settings.SCREENSHOT_STORAGE_PATH = tmp_path / "screenshots"
    settings.OPENAI_API_KEY = ""
    for name in ("OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def maya(guild):
    return make_creator(guild, username="maya")


@pytest.fixture
def maya_tiktok(guild, maya):
    return make_profile(guild, maya, platform=Platform.TIKTOK, handle="maya")


@pytest.fixture
def brand(guild):
    return make_client_account(guild, name="Acme", counting_window_days=14)


@pytest.fixture
def submit(guild, maya, maya_tiktok, brand):
    """Call submit_post the way every surface does: inside the guild's scope."""
    from tracking.submission import submit_post

    def _submit(url: str = POST_URL, *, creator=None, client_account_id=None, **kwargs):
        kwargs.setdefault("actor", "discord:maya")
        kwargs.setdefault("now", NOW)
        with guild_scope(guild.id):
            return submit_post(
                guild_id=guild.id,
                creator=creator or maya,
                url=url,
                client_account_id=client_account_id if client_account_id is not None else brand.id,
                **kwargs,
            )

    return _submit


def png_upload(**kwargs) -> UploadedScreenshot:
    return UploadedScreenshot(**{"data": PNG, "content_type": "image/png", "filename": "proof.png", **kwargs})
