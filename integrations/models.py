"""What the integrations remember: runs we started, webhooks we accepted, callbacks to the bot."""

from __future__ import annotations

from django.db import models

from guilds.models import Guild, GuildOwned
from tracking.models import Profile
from tracking.platforms import registry


class ApifyRunRegistry(GuildOwned):
    """Every Apify run we pay for, written (and its run debited) before Apify is asked to start it.

    starting → initiated (Apify said it started) → succeeded / failed / expired. A row stays
    ``starting`` when the start call's outcome is unknown (a timeout, a lost answer, a crash while
    the call was in flight); the reconciler then finds the run at Apify by the input we sent
    (``input_hash``) or fails it with the reason. A webhook for a run not here is refused.
    """

    class Purpose(models.TextChoices):
        METRICS = "metrics"
        VERIFICATION = "verification"

    class Status(models.TextChoices):
        STARTING = "starting", "Starting (outcome of the start not known yet)"
        INITIATED = "initiated", "Running at Apify"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        EXPIRED = "expired"

    OPEN = (Status.STARTING, Status.INITIATED)

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="apify_runs")
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    platform = models.CharField(max_length=10, choices=registry.choices)
    actor_id = models.CharField(max_length=100)
    apify_run_id = models.CharField(max_length=32, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTING)
    status_message = models.CharField(max_length=500, blank=True)
    input_hash = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the run input we sent: how a lost start is found again."
    )
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        help_text="A second run Apify started for the same request (a retried start): paid for, so ingested too.",
    )
    checked_at = models.DateTimeField(null=True, blank=True, help_text="Last time we asked Apify about this run.")
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
            models.Index(fields=["status", "created_at"], name="run_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} run {self.apify_run_id or self.pk} ({self.platform}, {self.status})"


class WebhookDelivery(models.Model):
    """An inbound webhook we accepted, by (source, delivery id): replay protection that outlives Redis,
    and the durable record of work still to do.

    An Apify delivery is written ``to_process`` in the transaction that answers the webhook; whoever
    processes it (a Celery worker, ``manage.py track``, the sweeper after a crash) claims it
    (``processing`` until ``lease_until``) and marks it ``done``, or puts it back with a backoff
    (``next_attempt_at``) after a transient error, or ``failed`` with the reason. Not guild data (ids
    and times only), so it is outside row-level security.
    """

    class State(models.TextChoices):
        TO_PROCESS = "to_process", "To process"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        APIFY = "apify"
        VERIFY = "verify"
        BOT = "bot"
        POLL = "poll", "Poll (Apify asked, no webhook)"

    source = models.CharField(max_length=10, choices=Source.choices)
    delivery_id = models.CharField(max_length=255)
    run = models.ForeignKey(ApifyRunRegistry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_type = models.CharField(max_length=60, blank=True)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.DONE)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["source", "delivery_id"], name="webhook_delivery_once")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.source} {self.delivery_id}"
