"""Guilds (the tenants), their members being tracked, budgets, usage, bonus rules, bot health, the
notifications waiting for their Discord channels and the audit log of what people changed."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.snowflakes import validate_snowflake


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as Europe/Paris.")


# What flags a post for review when a new measurement arrives (metrics.fraud), per guild. The defaults
# are what organic short-video growth looks like; guilds.guild_settings checks the ranges.
FRAUD_THRESHOLD_DEFAULTS: dict[str, int | Decimal] = {
    "fraud_spike_min_views": 10_000,
    "fraud_spike_max_engagement_pct": Decimal("0.20"),
    "fraud_views_drop_min": 100,
    "fraud_views_drop_pct": Decimal("1.00"),
    "fraud_engagement_drop_min": 50,
    "fraud_engagement_drop_pct": Decimal("10.00"),
}


# Allowed values: guilds.guild_settings refuses others with a message; the validators below do the same
# for staff editing a guild in the admin.
FRAUD_THRESHOLD_RANGES: dict[str, tuple[int | Decimal, int | Decimal]] = {
    "fraud_spike_min_views": (1, 1_000_000_000),
    "fraud_spike_max_engagement_pct": (Decimal("0.01"), Decimal("100")),
    "fraud_views_drop_min": (0, 1_000_000_000),
    "fraud_views_drop_pct": (Decimal("0"), Decimal("99.99")),
    "fraud_engagement_drop_min": (0, 1_000_000_000),
    "fraud_engagement_drop_pct": (Decimal("0"), Decimal("99.99")),
}


def _fraud_validators(name: str) -> list:
    low, high = FRAUD_THRESHOLD_RANGES[name]
    return [MinValueValidator(low), MaxValueValidator(high)]


def _count_field(name: str, help_text: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        default=FRAUD_THRESHOLD_DEFAULTS[name], validators=_fraud_validators(name), help_text=help_text
    )


def _percent_field(name: str, help_text: str) -> models.DecimalField:
    return models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=FRAUD_THRESHOLD_DEFAULTS[name],
        validators=_fraud_validators(name),
        help_text=help_text,
    )


class GuildQuerySet(models.QuerySet):
    def for_guild(self, guild: Guild | int) -> GuildQuerySet:
        """Rows of one guild. Every guild-scoped read starts here (RLS is the second layer)."""
        return self.filter(guild_id=getattr(guild, "pk", guild))


class GuildOwned(models.Model):
    """Base of every table that holds a guild's data: it carries guild_id and is under RLS."""

    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="+")

    objects = GuildQuerySet.as_manager()

    class Meta:
        abstract = True


class Guild(models.Model):
    """A Discord server: the tenant. Its primary key is the Discord guild id (a snowflake)."""

    id = models.BigIntegerField(primary_key=True, help_text="Discord guild id (snowflake).")
    name = models.CharField(max_length=100)
    icon = models.CharField(max_length=100, blank=True)
    logs_channel_id = models.CharField(max_length=21, blank=True, validators=[validate_snowflake])
    updates_channel_id = models.CharField(max_length=21, blank=True, validators=[validate_snowflake])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    logs_webhook_url = models.URLField(
        max_length=300, blank=True, help_text="Optional channel webhook for the logs channel (instead of the bot)."
    )
    updates_webhook_url = models.URLField(max_length=300, blank=True)
    logs_destination_gone_at = models.DateTimeField(
        null=True, blank=True, help_text="Discord said the logs destination no longer exists; set a new one."
    )
    updates_destination_gone_at = models.DateTimeField(null=True, blank=True)
    daily_report_hour = models.PositiveSmallIntegerField(default=9, help_text="Local hour of the daily report.")
    last_daily_report_on = models.DateField(null=True, blank=True)
    fraud_spike_min_views = _count_field(
        "fraud_spike_min_views", "Views gained since the previous measurement from which a spike is checked."
    )
    fraud_spike_max_engagement_pct = _percent_field(
        "fraud_spike_max_engagement_pct", "A spike is flagged when likes + comments gained are under this % of views."
    )
    fraud_views_drop_min = _count_field(
        "fraud_views_drop_min",
        "Views may drop by this many (or by fraud_views_drop_pct, the larger) before it is flagged.",
    )
    fraud_views_drop_pct = _percent_field("fraud_views_drop_pct", "Views may drop by this % before it is flagged.")
    fraud_engagement_drop_min = _count_field(
        "fraud_engagement_drop_min",
        "Likes or comments may drop by this many (or the %, the larger) before it is flagged.",
    )
    fraud_engagement_drop_pct = _percent_field(
        "fraud_engagement_drop_pct", "Likes or comments may drop by this % before it is flagged."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=models.Q(id__gt=0), name="guild_id_positive")]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Creator(GuildOwned):
    """A guild member whose posts are tracked (the older system's "User")."""

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="creators")
    discord_user_id = models.CharField(max_length=21, validators=[validate_snowflake])
    username = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["username"]
        constraints = [models.UniqueConstraint(fields=["guild", "discord_user_id"], name="creator_unique_per_guild")]
        indexes = [models.Index(fields=["guild", "username"], name="creator_guild_username")]

    def __str__(self) -> str:
        return f"{self.username} ({self.discord_user_id})"


class GuildBudgetConfig(GuildOwned):
    """A guild's API budgets and refresh cadence. One row per guild, created with defaults."""

    guild = models.OneToOneField(Guild, on_delete=models.CASCADE, related_name="budget")
    daily_apify_run_limit = models.PositiveIntegerField(default=100)
    daily_youtube_quota_units = models.PositiveIntegerField(default=1000)
    weekly_openai_call_limit = models.PositiveIntegerField(default=270)
    apify_max_items_per_run = models.PositiveIntegerField(default=100)
    # Refresh cadence (issue: scheduler). Young posts hourly, slower as growth flattens.
    young_post_hours = models.PositiveIntegerField(default=48)
    young_interval_minutes = models.PositiveIntegerField(default=60)
    growing_interval_minutes = models.PositiveIntegerField(default=180)
    flat_interval_hours = models.PositiveIntegerField(default=24)
    dormant_interval_hours = models.PositiveIntegerField(default=168)
    max_backoff_hours = models.PositiveIntegerField(default=24)
    youtube_paused_until = models.DateTimeField(
        null=True, blank=True, help_text="Set when YouTube answered quotaExceeded; calls resume after it."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "guild budget config"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(apify_max_items_per_run__gte=1), name="budget_items_per_run_min_1"
            )
        ]

    def __str__(self) -> str:
        return f"Budget of guild {self.guild_id}"


class GuildApiUsage(GuildOwned):
    """What a guild spent on one UTC day. Incremented atomically (see guilds/budgets.py)."""

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    apify_run_count = models.PositiveIntegerField(default=0)
    apify_runs_skipped = models.PositiveIntegerField(default=0)
    youtube_quota_used = models.PositiveIntegerField(default=0)
    openai_call_count = models.PositiveIntegerField(default=0)
    openai_tokens_used = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "guild API usage"
        constraints = [
            models.UniqueConstraint(fields=["guild", "day"], name="usage_unique_per_guild_day"),
            models.CheckConstraint(
                condition=models.Q(apify_run_count__gte=0)
                & models.Q(youtube_quota_used__gte=0)
                & models.Q(openai_call_count__gte=0)
                & models.Q(openai_tokens_used__gte=0),
                name="usage_counts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Usage of guild {self.guild_id} on {self.day}"


class BonusRule(GuildOwned):
    """A weekly bonus: a view-gain threshold, or a place in the week's top N, with its amount."""

    class Kind(models.TextChoices):
        THRESHOLD = "threshold", "View-gain threshold"
        TOP_N = "top_n", "Top-N place"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="bonus_rules")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    min_views_gained = models.PositiveBigIntegerField(null=True, blank=True, help_text="For threshold rules.")
    place = models.PositiveSmallIntegerField(null=True, blank=True, help_text="For top-N rules: 1 = first.")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "place", "-min_views_gained"]
        constraints = [
            models.UniqueConstraint(fields=["guild", "name"], name="bonus_rule_name_unique_per_guild"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="bonus_rule_amount_not_negative"),
            models.CheckConstraint(
                condition=(models.Q(kind="threshold", min_views_gained__isnull=False))
                | (models.Q(kind="top_n", place__gte=1)),
                name="bonus_rule_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.amount} {self.currency})"


class BotHealth(models.Model):
    """The Discord bot's last heartbeat. A singleton: always id=1."""

    class Status(models.TextChoices):
        ONLINE = "online"
        DEGRADED = "degraded"
        OFFLINE = "offline"
        UNKNOWN = "unknown"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    shard_count = models.PositiveIntegerField(default=0)
    guild_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    memory_mb = models.PositiveIntegerField(default=0)
    uptime_seconds = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "bot health"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="bot_health_singleton")]

    def __str__(self) -> str:
        seen = timezone.localtime(self.last_heartbeat_at).isoformat() if self.last_heartbeat_at else "never"
        return f"Bot {self.status} (last heartbeat {seen})"

    @classmethod
    def load(cls) -> BotHealth:
        return cls.objects.get_or_create(id=1)[0]


class GuildNotification(GuildOwned):
    """A message for one of the guild's Discord channels, written once per event (unique event key)
    and sent by the notifier, which groups what is pending for the same channel into one message."""

    class Channel(models.TextChoices):
        LOGS = "logs"
        UPDATES = "updates"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"
        DROPPED = "dropped", "Dropped (no destination)"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.LOGS)
    kind = models.CharField(max_length=40, help_text="submission, verification, flagged, run_failed, budget, ...")
    event_key = models.CharField(max_length=120, help_text="Unique per guild: the same event is told once.")
    title = models.CharField(max_length=256)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "integrations_guildnotification"  # created by integrations, kept when the model moved
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["guild", "event_key"], name="notification_once_per_event")]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_pending")]

    def __str__(self) -> str:
        return f"[{self.channel}] {self.title}"


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):  # pragma: no cover - guarded for safety
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


class DashboardAuditLog(models.Model):
    """Who changed what in which guild, with before/after, IP and user agent. Append-only."""

    guild = models.ForeignKey(Guild, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_log")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=120, help_text='"discord:1234 alice", "staff:bob", "service:bot".')
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        db_table = "dashboard_auth_dashboardauditlog"  # created by dashboard_auth, kept when the model moved
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["guild", "created_at"], name="audit_by_guild")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_type} {self.target_id}".strip()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")


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
        db_table = "integrations_botcallback"  # created by integrations, kept when the model moved
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="callback_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"


class CreatorMessage(GuildOwned):
    """A private Discord message to a creator about one of their posts (flagged, rejected, approved),
    written once per event (unique event key) in the transaction of the change and sent by
    integrations.discord.direct_messages: reserve → call Discord → record."""

    class Kind(models.TextChoices):
        FLAGGED = "flagged"
        REJECTED = "rejected"
        APPROVED = "approved"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="creator_messages")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="messages")
    discord_user_id = models.CharField(max_length=21, validators=[validate_snowflake])
    kind = models.CharField(max_length=10, choices=Kind.choices)
    event_key = models.CharField(max_length=120, help_text="Unique per guild: the same event is told once.")
    title = models.CharField(max_length=256)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["guild", "event_key"], name="creator_message_once_per_event")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="creator_message_due")]

    def __str__(self) -> str:
        return f"[{self.kind} → {self.discord_user_id}] {self.title}"
