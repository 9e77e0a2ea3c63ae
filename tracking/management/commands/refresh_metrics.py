"""`manage.py refresh_metrics`: one refresh-planning cycle now, or a dry run of it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.collection import UnknownGuild, run_refresh_cycle
from tracking.platforms import registry


class Command(BaseCommand):
    help = (
        "Run one refresh-planning cycle now: pick the posts that are due, group them per guild and platform "
        "into Apify runs and YouTube calls within each guild's remaining daily budget, and start them. "
        "With --dry-run, print what would be fetched and what it would cost, and change nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--guild", type=int, metavar="ID", help="Only this guild (its Discord id).")
        parser.add_argument("--platform", metavar="P", help=f"Only this platform: {', '.join(registry.keys())}.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print, per guild and platform, the posts, Apify runs and YouTube units a cycle would use "
            "and the budget left today; start nothing and write nothing.",
        )

    def handle(self, *args: Any, guild: int | None, platform: str | None, dry_run: bool, **options: Any) -> None:
        if platform is not None and not registry.is_registered(platform):
            raise CommandError(f"Unknown platform {platform!r}: use one of {', '.join(registry.keys())}.")
        try:
            report = run_refresh_cycle(guild_id=guild, platform=platform, dry_run=dry_run)
        except UnknownGuild as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{'guild':>20} {'platform':<10} {'posts':>6} {'runs':>5} {'yt units':>8} "
            f"{'waiting':>7} {'runs left':>9} {'units left':>10}"
        )
        for line in report.lines:
            self.stdout.write(
                f"{line.guild_id:>20} {line.platform:<10} {line.posts:>6} {line.runs:>5} {line.youtube_units:>8} "
                f"{line.waiting:>7} {line.remaining_apify_runs:>9} {line.remaining_youtube_units:>10}"
                + (f"  waiting: {line.waiting_reason}" if line.waiting else "")
            )
        if dry_run:
            total = sum(line.posts for line in report.lines)
            self.stdout.write(f"Dry run: nothing started ({total} posts would be fetched).")
            return
        self.stdout.write(
            f"Started {report.runs_started} Apify runs and {report.youtube_calls} YouTube calls for "
            f"{report.posts_sent} posts." + (f" Not started: {report.not_started}." if report.not_started else "")
        )
