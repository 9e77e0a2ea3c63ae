from django.contrib import admin

from core.admin_base import ReadOnlyAdmin
from integrations.models import ApifyRunRegistry, BotCallback, WebhookDelivery


@admin.register(ApifyRunRegistry)
class ApifyRunRegistryAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "guild",
        "purpose",
        "platform",
        "status",
        "apify_run_id",
        "item_count",
        "created_at",
        "expires_at",
    )
    list_filter = ("status", "purpose", "platform", "guild")
    search_fields = ("=apify_run_id", "=dataset_id", "actor_id")
    autocomplete_fields = ("guild", "profile")
    list_select_related = ("guild",)
    readonly_fields = ("created_at",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("source", "delivery_id", "event_type", "run", "remote_ip", "received_at")
    list_filter = ("source", "event_type")
    search_fields = ("=delivery_id",)


@admin.register(BotCallback)
class BotCallbackAdmin(admin.ModelAdmin):
    list_display = ("event_type", "event_id", "guild", "status", "attempts", "next_attempt_at", "delivered_at")
    list_filter = ("status", "event_type")
    search_fields = ("=event_id",)
    autocomplete_fields = ("guild",)
