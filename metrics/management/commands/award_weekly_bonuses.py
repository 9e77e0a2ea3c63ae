"""`manage.py award_weekly_bonuses [--guild ID] [--week YYYY-MM-DD] [--dry-run]`."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from earnings.services import book_guilds_bonuses
from integrations.discord.notifier import send_pending_notifications
from metrics.bonuses import WeekNotOver, award_weekly_bonuses


def _week(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--week must be a date such as 2026-11-16, not {value[:20]!r}.") from None


class Command(BaseCommand):
    help = (
        "Award each active guild's weekly bonuses (its active bonus rules: view-gain thresholds and top-N "
        "places) from the views gained inside a week — Monday 00:00 to the next Monday 00:00 in the guild's "
        "time zone, the dashboard's leaderboard numbers less held (flagged) posts, which wait for review — "
        "announce new awards once in the guild's updates channel and book them in the ledger as bonus "
        "entries. Rerunning a week changes nothing already awarded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--guild", metavar="ID", type=int, default=None, help="Only this guild (its Discord id).")
        parser.add_argument(
            "--week",
            metavar="YYYY-MM-DD",
            default=None,
            help="Any day of the week to award (its Monday is used). Default: each guild's last complete week. "
            "A week that has not ended yet is refused.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the awards that would be made; write and send nothing."
        )

    def handle(self, *args: Any, guild: int | None, week: str | None, dry_run: bool, **options: Any) -> None:
        try:
            outcomes = award_weekly_bonuses(guild_id=guild, week=_week(week) if week else None, dry_run=dry_run)
        except WeekNotOver as error:
            raise CommandError(f"Refused: {error}.") from None
        if guild is not None and not outcomes:
            raise CommandError(f"No active guild with id {guild}.")
        for o in outcomes:
            head = f"guild {o.guild_id}, week of {o.week_start}: "
            if dry_run:
                old = len(o.awards) - o.created
                self.stdout.write(
                    f"{head}would award {o.created} new award{'s' if o.created != 1 else ''}"
                    + (f" ({old} already awarded, unchanged)" if old else "")
                )
            else:
                self.stdout.write(f"{head}{o.created} new, {o.announced} announced of {len(o.awards)} awards")
            for a in o.awards:
                mark = " (already awarded)" if dry_run and (a.creator_id, a.rule_id) in o.already else ""
                self.stdout.write(
                    f"  {a.creator_name}: {a.rule_name} {a.amount} {a.currency} "
                    f"({a.views_gained} views, #{a.place}){mark}"
                )
        if not dry_run:
            booked = book_guilds_bonuses([o.guild_id for o in outcomes if o.created])
            if booked:
                self.stdout.write(
                    f"{booked} new award{'s' if booked != 1 else ''} booked in the ledger as bonus entries"
                )
        if not dry_run and any(o.announced for o in outcomes):
            send_pending_notifications(guild_id=guild)
