from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _after_migrate(sender, using, **kwargs):
    """Install RLS policies and grants once every app has migrated (we run as the owner role)."""
    from django.conf import settings
    from django.db import connections

    from tracking import rls

    connection = connections[using]
    rls.install_policies(connection)
    rls.grant_app_role(settings.DATABASE_APP_ROLE, connection)


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        from tracking import checks, observability  # noqa: F401  (system checks; metrics and log receivers)

        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="tracking.rls.install")
        checks.announce_disabled_features()
