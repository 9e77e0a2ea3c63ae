from django.apps import AppConfig


class DashboardAuthConfig(AppConfig):
    name = "dashboard_auth"
    verbose_name = "Dashboard access"
