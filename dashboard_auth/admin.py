from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone

from core.admin_base import ReadOnlyAdmin
from dashboard_auth.models import DashboardSession, RevokedServiceKey, SecurityEvent
from guilds.audit import AuditedAdminMixin

User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(AuditedAdminMixin, UserAdmin):
    """Users are deactivated, never deleted: their audit entries (append-only) point at them. The
    action also ends their dashboard sessions. A hard purge is an owner-role job (README)."""

    actions = ["deactivate_selected"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Deactivate selected users and end their dashboard sessions (audited)")
    def deactivate_selected(self, request, queryset):
        done = 0
        for user in queryset.filter(is_active=True).exclude(pk=request.user.pk):
            user.is_active = False
            user.save(update_fields=["is_active"])
            DashboardSession.objects.filter(user=user, revoked_at__isnull=True).update(
                revoked_at=timezone.now(), revoke_reason="user deactivated by staff"
            )
            self._audit(request, user, verb="deactivate", before={"is_active": True}, after={"is_active": False})
            done += 1
        self.message_user(request, f"{done} deactivated.", messages.SUCCESS)


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
