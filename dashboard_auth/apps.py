from django.apps import AppConfig


class DashboardAuthConfig(AppConfig):
    name = "dashboard_auth"
    verbose_name = "Dashboard access"

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from dashboard_auth.lockout import on_user_locked_out

        user_locked_out.connect(on_user_locked_out, dispatch_uid="dashboard_auth.lockout")
