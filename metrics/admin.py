from django.contrib import admin

from core.admin_base import ReadOnlyAdmin
from guilds.audit import AuditedAdminMixin
from metrics.models import BonusAward, VideoMetrics


@admin.register(VideoMetrics)
class VideoMetricsAdmin(ReadOnlyAdmin):
    list_display = (
        "post",
        "captured_at",
        "views",
        "likes",
        "comments",
        "shares",
        "provider",
        "source_field",
        "rounded",
    )
    list_filter = ("provider", "rounded", "guild")
    search_fields = ("=post__external_id", "=apify_run_id")
    list_select_related = ("post",)
    show_full_result_count = False  # the largest table: never COUNT(*) it for the changelist


@admin.register(BonusAward)
class BonusAwardAdmin(AuditedAdminMixin):
    """What was awarded is money: amounts, places and views are the weekly job's, never staff's to
    edit (the announcement date is the only editable field, audited)."""

    readonly_fields = ("guild", "creator", "rule", "week_start", "views_gained", "place", "amount", "created_at")
    list_display = ("creator", "rule", "week_start", "views_gained", "place", "amount", "announced_at")
    list_filter = ("week_start", "guild")
    search_fields = ("creator__username", "rule__name")
    list_select_related = ("creator", "rule")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
