"""manage.py check_rls — prove every guild table is under forced row-level security."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core.rls import guild_tables, rls_problems


class Command(BaseCommand):
    help = (
        "List every table that holds guild data and whether PostgreSQL row-level security is enabled, "
        "forced and has the guild_isolation policy. Exits non-zero if any table lacks one of them. "
        "On SQLite there is no row-level security (application-level scoping only) and it says so."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite: no row-level security; guild scoping is application-level only.")
            return
        problems = rls_problems()
        bad = {p.split(":", 1)[0] for p in problems}
        for table in guild_tables():
            self.stdout.write(f"{'MISSING' if table.table in bad else 'ok     '} {table.table} ({table.column})")
        if problems:
            for p in problems:
                self.stderr.write(p)
            raise CommandError(f"{len(problems)} guild table(s) without forced row-level security and policy.")
        self.stdout.write(self.style.SUCCESS(f"All {len(guild_tables())} guild tables have forced RLS."))
