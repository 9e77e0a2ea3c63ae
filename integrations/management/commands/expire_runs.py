"""`manage.py expire_runs`: Apify runs that never called back become expired."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from metrics.collection import expire_runs


class Command(BaseCommand):
    help = (
        "Mark every Apify run still 'initiated' after its expires_at (WEBHOOK_DISPATCH_TTL_SECONDS after "
        "it started) as expired: its posts' failure counts go up (the scheduler backs off and retries "
        "them) and a pending profile check fails with a reason. Works across all guilds (a logged "
        "row-level-security bypass). Safe to run at any time; prints how many runs expired."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"expired={expire_runs()}")
