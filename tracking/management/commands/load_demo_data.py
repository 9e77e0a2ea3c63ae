"""manage.py load_demo_data — the demo guild, and a local staff login for the admin."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tracking.demo import load_demo_data


class Command(BaseCommand):
    help = (
        "Create or refresh the demo guild (creators, verified profiles on all five platforms, client "
        "accounts, posts and three weeks of snapshots) and a local staff login. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-staff", action="store_true", help="Do not create or reset the staff login.")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server will answer, for the printed links (make run passes its HOST and PORT).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Run even with DJANGO_DEBUG off (never on a real deployment)."
        )

    def handle(self, *args, no_staff=False, force=False, base_url="http://127.0.0.1:8000", **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data is for development: set DJANGO_DEBUG=true or pass --force.")
        counts = load_demo_data()
        self.stdout.write(
            f"Demo guild ready: {counts.creators} creators, {counts.profiles} profiles, "
            f"{counts.posts} posts, {counts.snapshots} snapshots."
        )
        base = base_url.rstrip("/")
        if counts.brand_report_path:
            self.stdout.write(f"Brand report (read-only, no login): {base}{counts.brand_report_path}")
        if not no_staff:
            password = self._staff_login()
            self.stdout.write(self.style.SUCCESS(f"Staff login: admin / {password}  ({base}/admin/)"))
            self.stdout.write(
                f"Dashboard without Discord: {base}/ then 'Log in as the demo admin' (DJANGO_DEBUG, this machine only)"
            )

    @staticmethod
    def _staff_login() -> str:
        user, _ = get_user_model().objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        password = secrets.token_urlsafe(9)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password
