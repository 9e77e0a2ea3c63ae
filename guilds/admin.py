"""Staff screens for guilds. Every change is audited (AuditedAdminMixin); budgets go through the same
bounds and service as the API; a guild is deactivated, never deleted (its audit trail is append-only)."""

from django import forms
from django.contrib import admin, messages

from core.admin_base import ReadOnlyAdmin
from guilds.audit import AuditedAdminMixin
from guilds.budgets import BUDGET_FIELDS, budget_problems, update_budget_config
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
class GuildAdmin(AuditedAdminMixin):
    """No delete: the guild's audit log is append-only (rows cannot be removed by the app role), so a
    guild leaves by being deactivated; a hard purge is an owner-role job (README, "Deleting data")."""

    list_display = ("name", "id", "timezone", "active", "created_at")
    list_filter = ("active", "timezone")
    search_fields = ("name", "=id")
    actions = ["deactivate_selected"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Deactivate selected guilds (stops tracking; audited; data kept)")
    def deactivate_selected(self, request, queryset):
        done = 0
        for guild in queryset.filter(active=True):
            guild.active = False
            guild.save(update_fields=["active"])
            self._audit(request, guild, verb="deactivate", before={"active": True}, after={"active": False})
            done += 1
        self.message_user(request, f"{done} deactivated.", messages.SUCCESS)


@admin.register(Creator)
class CreatorAdmin(AuditedAdminMixin):
    list_display = ("username", "discord_user_id", "guild", "created_at")
    list_filter = ("guild",)
    search_fields = ("username", "=discord_user_id")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild",)


class GuildBudgetConfigForm(forms.ModelForm):
    """The API's bounds and ordering rules (guilds.budgets.budget_problems), per field."""

    class Meta:
        model = GuildBudgetConfig
        fields = list(BUDGET_FIELDS)

    def clean(self):
        cleaned = super().clean()
        values = {name: cleaned.get(name, getattr(self.instance, name)) for name in BUDGET_FIELDS}
        for name, message in budget_problems(values=values).items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, message)
        return cleaned


@admin.register(GuildBudgetConfig)
class GuildBudgetConfigAdmin(admin.ModelAdmin):
    """Budgets change through update_budget_config, as in the API: same bounds, same audit entry."""

    form = GuildBudgetConfigForm
    readonly_fields = ("guild",)

    def has_add_permission(self, request) -> bool:
        return False  # one row per guild, created with defaults when first needed

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        stored = GuildBudgetConfig.objects.get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in BUDGET_FIELDS}
        update_budget_config(
            budget=stored,
            changes=changes,
            actor=f"staff:{request.user.get_username()}",
            actor_user=request.user,
            request=request,
        )

    list_display = (
        "guild",
        "daily_apify_run_limit",
        "daily_youtube_quota_units",
        "weekly_openai_call_limit",
        "apify_max_items_per_run",
        "youtube_paused_until",
    )
    search_fields = ("guild__name", "=guild__id")
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
class BonusRuleAdmin(AuditedAdminMixin):
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
class GuildNotificationAdmin(AuditedAdminMixin):
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
