"""`manage.py send_daily_reports [--guild ID] [--force] [--dry-run]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.discord.notifier import send_pending_notifications
from metrics.reports import queue_daily_reports


class Command(BaseCommand):
    help = (
        "Queue and send the daily report (yesterday's views gained, top posts and creators, new "
        "submissions, budget use) to the updates channel of every active guild whose local report hour "
        "(Guild.daily_report_hour in Guild.timezone) has come and whose report has not gone out today. "
        "Each guild gets at most one report per local day unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--guild", metavar="ID", type=int, default=None, help="Only this guild (its Discord id).")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Send even if it is not the guild's report hour yet or today's report already went out.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the reports that would be sent; write and send nothing.",
        )

    def handle(self, *args: Any, guild: int | None, force: bool, dry_run: bool, **options: Any) -> None:
        outcomes = queue_daily_reports(guild_id=guild, force=force, dry_run=dry_run)
        if guild is not None and not outcomes:
            raise CommandError(f"No active guild with id {guild}.")
        for outcome in outcomes:
            self.stdout.write(f"guild {outcome.guild_id}: {outcome.detail or outcome.status.replace('_', ' ')}")
            if dry_run and outcome.report is not None:
                self.stdout.write(f"  {outcome.report.title}\n" + _indent(outcome.report.body))
        if not dry_run and any(o.status == "queued" for o in outcomes):
            summary = send_pending_notifications(guild_id=guild)
            self.stdout.write(
                f"notifications: {summary.sent} sent, {summary.retrying} to retry, {summary.failed} failed, "
                f"{summary.waiting} waiting for a Discord destination (set one in the dashboard settings)"
            )


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
