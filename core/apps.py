from django.apps import AppConfig
from django.urls import register_converter


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core plumbing"

    def ready(self) -> None:
        from core.snowflakes import IdConverter, SnowflakeConverter

        # Registered once, before any URLconf is imported: every urls module may use <id:...>.
        register_converter(IdConverter, "id")
        register_converter(SnowflakeConverter, "snowflake")
