"""`manage.py discord_register_commands [--guild ID]`: register the slash commands with Discord."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.discord.client import discord_client
from integrations.discord.commands import COMMANDS
from integrations.errors import IntegrationError


class Command(BaseCommand):
    help = (
        "Register (bulk-overwrite) Tracking Data's slash commands /link, /verify, /submit, /stats and "
        "/leaderboard for the Discord application DISCORD_APPLICATION_ID, using DISCORD_BOT_TOKEN. "
        "Commands registered earlier but no longer defined are removed. Global commands can take up to an "
        "hour to appear in Discord clients; guild commands appear at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--guild",
            metavar="ID",
            default=None,
            help="Register for this guild only (instant, for testing). Default: DISCORD_COMMANDS_GUILD_ID if "
            "set, else globally for every guild the application is in.",
        )
        parser.add_argument(
            "--global",
            dest="force_global",
            action="store_true",
            help="Register globally even when DISCORD_COMMANDS_GUILD_ID is set.",
        )

    def handle(self, *args: Any, guild: str | None, force_global: bool, **options: Any) -> None:
        missing = [n for n in ("DISCORD_APPLICATION_ID", "DISCORD_BOT_TOKEN") if not getattr(settings, n)]
        if missing:
            raise CommandError(f"{' and '.join(missing)} must be set to register slash commands.")
        target = None if force_global else (guild or settings.DISCORD_COMMANDS_GUILD_ID or None)
        if target is not None and not str(target).isdigit():
            raise CommandError(f"--guild must be a Discord guild id (digits), not {str(target)[:30]!r}.")

        try:
            registered = discord_client().register_commands(
                application_id=settings.DISCORD_APPLICATION_ID, commands=COMMANDS, guild_id=target
            )
        except IntegrationError as error:
            raise CommandError(f"Discord refused the commands: {error.message}") from None
        where = f"guild {target}" if target else "all guilds (global; may take up to an hour to show)"
        names = ", ".join(f"/{c.name}" for c in registered)
        self.stdout.write(self.style.SUCCESS(f"Registered {len(registered)} commands for {where}: {names}"))
