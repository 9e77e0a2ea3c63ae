from django.contrib import admin

from core.admin_base import ReadOnlyAdmin
from guilds.models import (
    BonusRule,
    BotCallback,
    BotHealth,
    Creator,
    CreatorMessage,
    DashboardAuditLog,
    Guild,
    GuildApiUsage,
    GuildBudgetConfig,
    GuildNotification,
)


@admin.register(Guild)
class GuildAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "timezone", "active", "created_at")
    list_filter = ("active", "timezone")
    search_fields = ("name", "=id")


@admin.register(Creator)
class CreatorAdmin(admin.ModelAdmin):
    list_display = ("username", "discord_user_id", "guild", "created_at")
    list_filter = ("guild",)
    search_fields = ("username", "=discord_user_id")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild",)


@admin.register(GuildBudgetConfig)
class GuildBudgetConfigAdmin(admin.ModelAdmin):
    list_display = (
        "guild",
        "daily_apify_run_limit",
        "daily_youtube_quota_units",
        "weekly_openai_call_limit",
        "apify_max_items_per_run",
        "youtube_paused_until",
    )
    search_fields = ("guild__name", "=guild__id")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild",)


@admin.register(GuildApiUsage)
class GuildApiUsageAdmin(ReadOnlyAdmin):
    list_display = (
        "guild",
        "day",
        "apify_run_count",
        "apify_runs_skipped",
        "youtube_quota_used",
        "openai_call_count",
        "openai_tokens_used",
    )
    list_filter = ("day", "guild")
    search_fields = ("guild__name", "=guild__id")
    date_hierarchy = "day"
    list_select_related = ("guild",)


@admin.register(BonusRule)
class BonusRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "guild", "kind", "min_views_gained", "place", "amount", "currency", "active")
    list_filter = ("kind", "active", "guild")
    search_fields = ("name", "guild__name")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild",)


@admin.register(BotHealth)
class BotHealthAdmin(ReadOnlyAdmin):
    list_display = ("status", "last_heartbeat_at", "shard_count", "guild_count", "memory_mb", "uptime_seconds")
    list_filter = ("status",)
    search_fields = ("status",)


@admin.register(GuildNotification)
class GuildNotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "guild", "channel", "kind", "title", "status", "sent_at")
    list_filter = ("status", "channel", "kind", "guild")
    search_fields = ("title", "event_key")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild",)


@admin.register(CreatorMessage)
class CreatorMessageAdmin(ReadOnlyAdmin):
    """Private messages to creators about their posts: what was sent, and why one was not (last_error)."""

    list_display = ("created_at", "guild", "creator", "kind", "status", "attempts", "last_error", "sent_at")
    list_filter = ("status", "kind", "guild")
    search_fields = ("=discord_user_id", "event_key", "creator__username")
    list_select_related = ("guild", "creator")


@admin.register(DashboardAuditLog)
class DashboardAuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "guild", "actor", "action", "target_type", "target_id", "ip")
    list_filter = ("action", "target_type", "guild")
    search_fields = ("actor", "action", "=target_id")
    list_select_related = ("guild",)


@admin.register(BotCallback)
class BotCallbackAdmin(ReadOnlyAdmin):
    list_display = ("event_type", "event_id", "guild", "status", "attempts", "next_attempt_at", "delivered_at")
    list_filter = ("status", "event_type")
    search_fields = ("=event_id",)
