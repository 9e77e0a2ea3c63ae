from django.apps import AppConfig


class GuildsConfig(AppConfig):
    name = "guilds"
    verbose_name = "Guilds"
