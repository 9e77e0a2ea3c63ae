"""`manage.py check_url`: one JSON line per URL for support staff."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

KEYS = {"url", "ok", "platform", "external_id", "canonical_url", "needs_resolution", "error"}


def run(*urls: str) -> list[dict]:
    out = io.StringIO()
    call_command("check_url", *urls, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_url_gets_one_json_line_with_exactly_the_documented_keys():
    rows = run(
        "https://www.tiktok.com/@ohmyshop.store/video/7623046776752295175?is_from_webapp=1",
        "https://vm.tiktok.com/ZMhvqKx2s/",
        "https://www.tiktok.com/@ohmyshop.store",
    )
    assert len(rows) == 3
    assert all(set(row) == KEYS for row in rows)


def test_recognised_url_shows_platform_id_and_canonical_url():
    [row] = run("youtu.be/dQw4w9WgXcQ?si=AbCdEfGhIjKlMnOp")
    assert row == {
        "url": "youtu.be/dQw4w9WgXcQ?si=AbCdEfGhIjKlMnOp",
        "ok": True,
        "platform": "youtube",
        "external_id": "dQw4w9WgXcQ",
        "canonical_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "needs_resolution": False,
        "error": None,
    }


def test_short_link_is_reported_as_needing_resolution():
    [row] = run("https://fb.watch/mNp3Qr_xYz/?mibextid=abc")
    assert row["ok"] is True
    assert row["needs_resolution"] is True
    assert row["external_id"] is None
    assert row["canonical_url"] == "https://fb.watch/mNp3Qr_xYz/"


def test_refused_url_carries_the_message_and_the_command_still_succeeds():
    # call_command raising would fail this test; a refusal is output, not an error.
    rows = run("https://www.instagram.com/wendys/", "https://tiktok.com.evil.example/@a/video/7623046776752295175")
    assert [row["ok"] for row in rows] == [False, False]
    assert rows[0]["platform"] == "instagram"
    assert "Instagram profile page" in rows[0]["error"]
    assert "only looks like TikTok" in rows[1]["error"]
    assert rows[1]["canonical_url"] is None


def test_output_lines_are_compact_and_escape_lookalike_letters():
    out = io.StringIO()
    call_command("check_url", "https://www.tikt\u043ek.com/@a/video/7623046776752295175", stdout=out)
    line = out.getvalue().strip()
    assert ", " not in line.split('"error"')[0]  # compact separators before the free-text message
    assert "\\u043e" in line  # the Cyrillic o is visible to the support person


def test_missing_urls_is_a_usage_error():
    with pytest.raises(CommandError, match="URL"):
        call_command("check_url", stdout=io.StringIO())


def test_help_explains_the_output(capsys):
    with pytest.raises(SystemExit) as exited:
        call_command("check_url", "--help")
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    assert "one JSON object per URL" in help_text
    assert "needs_resolution" in help_text
