"""`manage.py import_dataset --guild GUILD --platform PLATFORM FILE.json`: store a downloaded Apify dataset."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.tenancy import rls_bypass
from guilds.models import Guild
from metrics.ingestion import ingest_dataset
from metrics.models import VideoMetrics
from tracking.platforms import registry


def platform_choices() -> list[str]:
    """The platforms whose numbers come from Apify datasets (not YouTube's official API)."""
    return [spec.key for spec in registry.all_specs() if spec.collector == "apify"]


class Command(BaseCommand):
    help = (
        "Ingest a dataset downloaded from Apify (a JSON array of items, as exported with format=json) "
        "through the same normalization and storage as a webhook-delivered run: items are matched to "
        "the guild's posts by platform id (error rows and short links by the submitted URL), stored as "
        "snapshots with provider 'import', and the posts' latest numbers, status and fraud signals are "
        "updated. An item whose counts cannot be read is refused and changes nothing; each refused item is "
        "printed (index, post, reason). Importing the same file twice with the same --captured-at changes "
        "nothing. Prints the inserted, updated, unmatched, error and refused counts; exits 1 with a "
        "one-line reason on failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--guild", required=True, type=int, help="Discord id of the guild the posts belong to.")
        parser.add_argument(
            "--platform",
            required=True,
            help=f"Platform the actor scraped: one of {', '.join(platform_choices())}.",
        )
        parser.add_argument(
            "--captured-at",
            help="When the numbers were measured (ISO 8601, e.g. 2026-03-30T14:00:00Z). Default: the file's "
            "modification time, so re-importing the same file is idempotent.",
        )
        parser.add_argument("file", metavar="FILE.json", help="The dataset file: a JSON array of items.")

    def handle(self, *args: Any, **options: Any) -> None:
        platform = self._platform(options["platform"])
        path = Path(options["file"])
        items = self._items(path)
        captured_at = self._captured_at(options.get("captured_at"), path)
        with rls_bypass(reason="import_dataset guild lookup"):
            if not Guild.objects.filter(pk=options["guild"]).exists():
                raise CommandError(f"No guild with id {options['guild']}.")
        result = ingest_dataset(
            guild_id=options["guild"],
            platform=platform,
            raw_items=items,
            captured_at=captured_at,
            provider=VideoMetrics.Provider.IMPORT,
        )
        for refusal in result.refused:
            post = f"post #{refusal.post_id}" if refusal.post_id else "no post of this guild"
            self.stderr.write(f"refused item {refusal.index} ({post}): {refusal.reason}")
        self.stdout.write(
            f"inserted={result.inserted} updated={result.updated} unmatched={result.unmatched} "
            f"errors={result.errors} refused={len(result.refused)} flagged={result.flagged} items={len(items)}"
        )
        if result.refused:
            self.stdout.write(
                f"{len(result.refused)} item(s) refused: their posts were left as they were. Fix the file and "
                "import it again."
            )

    @staticmethod
    def _platform(raw: str) -> str:
        value = raw.strip().lower()
        choices = platform_choices()
        if value not in choices:
            raise CommandError(f"Unknown platform {raw!r}: use one of {', '.join(choices)}.")
        return value

    @staticmethod
    def _items(path: Path) -> list[Any]:
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(data, list):
            raise CommandError(f"{path} must hold a JSON array of dataset items, not a {type(data).__name__}.")
        return data

    @staticmethod
    def _captured_at(raw: str | None, path: Path) -> datetime:
        if not raw:
            return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(microsecond=0)
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise CommandError(f"--captured-at {raw!r} is not an ISO 8601 time such as 2026-03-30T14:00:00Z.") from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
