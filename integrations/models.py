"""What the integrations remember: runs we started, webhooks we accepted, callbacks to the bot."""

from __future__ import annotations

from django.db import models

from guilds.models import Guild, GuildOwned
from tracking.models import Profile
from tracking.platforms import registry


class ApifyRunRegistry(GuildOwned):
    """Every Apify run we start, written before it starts. A webhook for a run not here is refused."""

    class Purpose(models.TextChoices):
        METRICS = "metrics"
        VERIFICATION = "verification"

    class Status(models.TextChoices):
        INITIATED = "initiated"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        EXPIRED = "expired"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="apify_runs")
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    platform = models.CharField(max_length=10, choices=registry.choices)
    actor_id = models.CharField(max_length=100)
    apify_run_id = models.CharField(max_length=32, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INITIATED)
    status_message = models.CharField(max_length=500, blank=True)
    dataset_id = models.CharField(max_length=32, blank=True)
    post_ids = models.JSONField(default=list, blank=True, help_text="Posts this run covers.")
    profile = models.ForeignKey(Profile, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    item_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "Apify run"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="run_status_expiry"),
            models.Index(fields=["guild", "created_at"], name="run_guild_created"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} run {self.apify_run_id or self.pk} ({self.platform}, {self.status})"


class WebhookDelivery(models.Model):
    """An inbound webhook we accepted, by (source, delivery id): replay protection that outlives Redis.

    Not guild data (it holds ids and times only), so it is outside row-level security.
    """

    class Source(models.TextChoices):
        APIFY = "apify"
        VERIFY = "verify"
        BOT = "bot"

    source = models.CharField(max_length=10, choices=Source.choices)
    delivery_id = models.CharField(max_length=100)
    run = models.ForeignKey(ApifyRunRegistry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_type = models.CharField(max_length=60, blank=True)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["source", "delivery_id"], name="webhook_delivery_once")]

    def __str__(self) -> str:
        return f"{self.source} {self.delivery_id}"


class BotCallback(models.Model):
    """An event for the Discord bot, delivered to BOT_CALLBACK_URL at most once, retried until it expires."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        EXPIRED = "expired"

    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=60)
    guild = models.ForeignKey(Guild, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="callback_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"
