"""`manage.py check_url URL [URL ...]`: how the product understands pasted post links."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tracking.post_urls import PostUrlError, parse_post_url


class Command(BaseCommand):
    help = (
        "Show how each URL would be understood when a creator submits it, without storing anything or "
        "calling any platform. Prints one JSON object per URL, on its own line, with the keys url, ok, "
        "platform, external_id, canonical_url, needs_resolution and error. needs_resolution=true means "
        "the post id is settled by the first scrape (short links such as vm.tiktok.com or fb.watch, and "
        "Facebook post links). Refused URLs have ok=false and the message the creator would see in "
        "error. Exits 0 even when some URLs are refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "urls",
            nargs="+",
            metavar="URL",
            help="A post link as someone pasted it; quote it in the shell (it often contains & and ?).",
        )

    def handle(self, *args: Any, urls: list[str], **options: Any) -> None:
        for url in urls:
            # ASCII escapes on purpose: a look-alike letter shows up as \u043e instead of hiding.
            self.stdout.write(json.dumps(check_url_row(url), separators=(",", ":")))


def check_url_row(url: str) -> dict[str, Any]:
    """The JSON object printed for one URL."""
    try:
        parsed = parse_post_url(url)
    except PostUrlError as error:
        return {
            "url": url,
            "ok": False,
            "platform": error.platform,
            "external_id": None,
            "canonical_url": None,
            "needs_resolution": None,
            "error": error.message,
        }
    return {
        "url": url,
        "ok": True,
        "platform": parsed.platform,
        "external_id": parsed.external_id,
        "canonical_url": parsed.canonical_url,
        "needs_resolution": parsed.needs_resolution,
        "error": None,
    }
