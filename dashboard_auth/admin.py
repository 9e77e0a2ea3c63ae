from django.contrib import admin

from core.admin_base import ReadOnlyAdmin
from dashboard_auth.models import DashboardSession, RevokedServiceKey, SecurityEvent


@admin.register(DashboardSession)
class DashboardSessionAdmin(ReadOnlyAdmin):
    list_display = ("pk", "user", "ip", "created_at", "expires_at", "rotated_at", "revoked_at", "revoke_reason")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), ("rotated_at", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "=ip", "=family")
    exclude = ("refresh_token_hash",)
    list_select_related = ("user",)


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "source", "reason", "ip")
    list_filter = ("kind", "source")
    search_fields = ("reason", "=ip")


@admin.register(RevokedServiceKey)
class RevokedServiceKeyAdmin(ReadOnlyAdmin):
    list_display = ("name", "revoked_at", "revoked_by", "reason")
    search_fields = ("name",)
