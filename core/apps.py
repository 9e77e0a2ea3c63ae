from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.urls import register_converter


def _after_migrate(sender, using, **kwargs):
    """Install RLS policies, change triggers and grants once every app has migrated (we run as the
    owner role)."""
    from django.conf import settings
    from django.db import connections

    from core import rls

    connection = connections[using]
    rls.install_policies(connection)
    rls.install_change_triggers(connection)
    rls.grant_app_role(settings.DATABASE_APP_ROLE, connection)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core plumbing"

    def ready(self) -> None:
        from core import checks
        from core.snowflakes import IdConverter, SnowflakeConverter

        # Registered once, before any URLconf is imported: every urls module may use <id:...>.
        register_converter(IdConverter, "id")
        register_converter(SnowflakeConverter, "snowflake")
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="core.rls.install")
        checks.announce_disabled_features()
