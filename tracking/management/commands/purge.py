"""`manage.py purge`: delete the traffic records retention no longer keeps."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tracking.retention import purge


class Command(BaseCommand):
    help = (
        "Delete webhook deliveries, Discord notifications, bot callbacks, security events, ended "
        "sessions and failed-login records older than their RETENTION_*_DAYS setting (README, "
        "'Retention'); never work still to do, never snapshots, posts or the audit log. Beat and "
        "`manage.py track` run it daily. Prints the rows deleted per table."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        counts = purge(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for table, count in counts.items():
            self.stdout.write(f"{table}: {verb} {count}")
