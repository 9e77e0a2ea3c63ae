"""`manage.py rebuild_rollups [--guild ID]`: recompute the daily rollups from the snapshots."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.tenancy import guild_scope, rls_bypass
from guilds.models import Guild
from metrics.rollups import rebuild_rollups


class Command(BaseCommand):
    help = (
        "Recompute the per-post daily rollups (the newest measurement with views of each UTC day) from "
        "the stored snapshots: every guild, or only --guild. Idempotent: run it as often as you like; "
        "ingestion keeps the rollups current on its own, so this is for backfills and repairs. Prints "
        "the number of rollup rows written; exits 1 with a one-line reason on failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--guild", type=int, help="Discord id of the only guild to rebuild (default: all).")

    def handle(self, *args, guild: int | None = None, **options) -> None:
        if guild is None:
            with rls_bypass(reason="rebuild_rollups for every guild"):
                written = rebuild_rollups()
        else:
            with rls_bypass(reason="rebuild_rollups: look up the guild"):
                if not Guild.objects.filter(pk=guild).exists():
                    raise CommandError(f"No guild with id {guild}.")
            with guild_scope(guild):
                written = rebuild_rollups(guild_id=guild)
        self.stdout.write(f"{written} rollup rows written.")
