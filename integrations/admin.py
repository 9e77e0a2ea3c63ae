from django.contrib import admin

from core.admin_base import ReadOnlyAdmin
from integrations.models import ApifyRunRegistry, WebhookDelivery


@admin.register(ApifyRunRegistry)
class ApifyRunRegistryAdmin(ReadOnlyAdmin):
    """Read-only: a run's status is what Apify and the reconciler say, and money depends on it."""

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
    list_select_related = ("guild",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("source", "delivery_id", "event_type", "run", "state", "attempts", "received_at", "processed_at")
    list_filter = ("source", "state", "event_type")
    search_fields = ("=delivery_id",)
