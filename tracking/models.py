"""The tracked things: client accounts (brands), creators' social profiles, posts, screenshots."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from guilds.models import Creator, Guild, GuildOwned, GuildQuerySet
from tracking.platforms import registry


class ClientAccount(GuildOwned):
    """A brand that pays for posts, with its social accounts and campaign rules."""

    class PayoutModel(models.TextChoices):
        CPM = "cpm", "Per thousand views"
        BONUS = "bonus", "Bonus rules"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="client_accounts")
    name = models.CharField(max_length=100)
    social_accounts = models.JSONField(default=dict, blank=True, help_text='{"tiktok": "brand", ...}')
    payout_model = models.CharField(max_length=8, choices=PayoutModel.choices, default=PayoutModel.CPM)
    cpm_rate = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    required_tags = models.JSONField(default=list, blank=True, help_text='["#brand", "@brand"]')
    banned_words = models.JSONField(default=list, blank=True)
    counting_window_days = models.PositiveIntegerField(
        default=30, help_text="Views are counted for this many days after a post is submitted."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["guild", "name"], name="client_account_name_unique_per_guild"),
            models.CheckConstraint(condition=Q(cpm_rate__gte=0), name="client_account_cpm_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


def validate_currency(value: str) -> None:
    """ISO 4217: three capital letters of a currency we know (refuses "usd", "EURO", "XXX")."""
    if value not in CURRENCIES:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code we accept (e.g. USD, EUR, GBP).")


def validate_platform_rates(value) -> None:
    """{"tiktok": "1.50", ...}: known platforms, non-negative Decimals with at most 2 places (as strings)."""
    if not isinstance(value, dict):
        raise ValidationError('Rates must be an object like {"tiktok": "1.50"}.')
    for platform, rate in value.items():
        if platform not in registry.keys():
            raise ValidationError(f"{platform!r} is not a platform we track.")
        try:
            amount = Decimal(str(rate))
        except (InvalidOperation, ValueError):
            raise ValidationError(f"The rate for {platform} must be a decimal number like 1.50.") from None
        if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2 or amount >= 10**6:
            raise ValidationError(f"The rate for {platform} must be between 0 and 999999.99, at most 2 decimals.")


def validate_platform_list(value) -> None:
    """["tiktok", "youtube"]: platforms we track (empty means every platform)."""
    if not isinstance(value, list) or any(p not in registry.keys() for p in value):
        raise ValidationError(f"Eligible platforms must be a list of: {', '.join(registry.keys())}.")


# The currencies a campaign may be paid in (ISO 4217, the ones payment services actually settle).
CURRENCIES = frozenset(
    "USD EUR GBP CAD AUD NZD CHF JPY SEK NOK DKK PLN CZK HUF BRL MXN INR SGD HKD ZAR AED TRY KRW".split()
)


class CampaignQuerySet(GuildQuerySet):
    def accepting(self, now) -> CampaignQuerySet:
        """Active campaigns whose dates include ``now`` (an open end date runs until paused or ended)."""
        return self.filter(status=Campaign.Status.ACTIVE, starts_at__lte=now).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        )


class Campaign(GuildOwned):
    """A client account's paid brief: what is paid per 1,000 views, within which windows and caps.

    Money rules live in earnings/selectors.py; this row only states the brief.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    class Baseline(models.TextChoices):
        GAINED = "gained", "Views gained since submission"
        ALL = "all", "All views"

    class OnDisappear(models.TextChoices):
        KEEP = "keep", "Keep what it earned"
        FORFEIT = "forfeit", "Forfeit its earnings"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="campaigns", db_index=False)
    client_account = models.ForeignKey(ClientAccount, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    total_budget = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Empty: no budget limit."
    )
    rate_per_1000 = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0"), help_text="Paid per 1,000 payable views."
    )
    platform_rates = models.JSONField(
        default=dict, blank=True, validators=[validate_platform_rates], help_text='Overrides: {"tiktok": "2.00"}.'
    )
    post_cap = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    creator_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    min_views = models.PositiveBigIntegerField(default=0, help_text="A post below this earns nothing.")
    counting_window_days = models.PositiveIntegerField(default=30, help_text="Views count this long after submission.")
    validation_window_days = models.PositiveIntegerField(
        default=3, help_text="Days after the counting window before money becomes payable."
    )
    eligible_platforms = models.JSONField(
        default=list, blank=True, validators=[validate_platform_list], help_text="Empty: every platform."
    )
    required_tags = models.JSONField(default=list, blank=True)
    banned_words = models.JSONField(default=list, blank=True)
    baseline = models.CharField(max_length=8, choices=Baseline.choices, default=Baseline.GAINED)
    on_disappear = models.CharField(max_length=8, choices=OnDisappear.choices, default=OnDisappear.KEEP)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "name"]
        constraints = [
            models.UniqueConstraint(fields=["guild", "name"], name="campaign_name_unique_per_guild"),
            models.CheckConstraint(condition=Q(rate_per_1000__gte=0), name="campaign_rate_not_negative"),
            models.CheckConstraint(
                condition=Q(total_budget__isnull=True) | Q(total_budget__gte=0), name="campaign_budget_not_negative"
            ),
            models.CheckConstraint(condition=Q(post_cap__isnull=True) | Q(post_cap__gte=0), name="campaign_post_cap"),
            models.CheckConstraint(
                condition=Q(creator_cap__isnull=True) | Q(creator_cap__gte=0), name="campaign_creator_cap"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["guild", "client_account", "status"], name="campaign_by_account")]

    def __str__(self) -> str:
        return self.name

    def rate_for(self, platform: str) -> Decimal:
        """The rate per 1,000 views on a platform: its override, else the campaign's rate."""
        override = self.platform_rates.get(platform)
        return Decimal(str(override)) if override is not None else self.rate_per_1000


class Profile(GuildOwned):
    """A creator's account on one platform, and the proof that it is theirs."""

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", "Unverified"
        PENDING = "pending", "Check running"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed"
        REVOKED = "revoked", "Revoked"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="profiles")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="profiles")
    platform = models.CharField(max_length=10, choices=registry.choices)
    handle = models.CharField(max_length=100, help_text="Normalised: no @, lower case where the platform ignores case.")
    platform_user_id = models.CharField(max_length=64, blank=True)
    verification_status = models.CharField(max_length=10, choices=Verification.choices, default=Verification.UNVERIFIED)
    verification_code = models.CharField(max_length=16, blank=True)
    verification_code_expires_at = models.DateTimeField(null=True, blank=True)
    verification_reason = models.CharField(max_length=300, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=100, blank=True, help_text='"bio check" or the staff member.')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform", "handle"]
        constraints = [
            models.UniqueConstraint(fields=["guild", "platform", "handle"], name="profile_unique_per_guild_platform"),
        ]
        indexes = [models.Index(fields=["guild", "creator", "platform"], name="profile_guild_creator")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} @{self.handle}"

    @property
    def is_verified(self) -> bool:
        return self.verification_status == self.Verification.VERIFIED


class PostQuerySet(GuildQuerySet):
    def due_for_refresh(self, now) -> PostQuerySet:
        return self.filter(status__in=Post.REFRESHABLE, next_refresh_at__lte=now)


class Post(GuildOwned):
    """A submitted post and its latest numbers. Unique per (guild, platform, platform post id)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        TRACKING = "tracking", "Tracking"
        FLAGGED = "flagged", "Flagged for review"
        UNAVAILABLE = "unavailable", "Unavailable"
        FINALIZED = "finalized", "Finalized"
        REJECTED = "rejected", "Rejected"

    class CaptionVerdict(models.TextChoices):
        UNCHECKED = "unchecked", "Not checked"
        PASS = "pass", "Pass"
        WARN = "warn", "Warning"
        FAIL = "fail", "Fail"

    REFRESHABLE = (Status.SUBMITTED, Status.TRACKING, Status.FLAGGED, Status.UNAVAILABLE)

    # No single-column indexes on guild_id and client_account_id: every read of posts is guild-scoped
    # and every Post index below leads with guild_id (the client-account filter and counts walk those),
    # while each index costs every ingest's UPDATE of its posts about 3 % (bench/ingest.py). profile_id
    # keeps its index: "does this profile have posts" (tracking.verification) looks it up alone.
    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="posts", db_index=False)
    # (guild, creator, submitted_at) serves every creator lookup, all of which are guild-scoped.
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="posts", db_index=False)
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="posts")
    client_account = models.ForeignKey(ClientAccount, on_delete=models.PROTECT, related_name="posts", db_index=False)
    # Nullable while client accounts without a campaign exist; submissions pick the account's active one.
    campaign = models.ForeignKey(
        "Campaign", on_delete=models.PROTECT, related_name="posts", null=True, blank=True, db_index=False
    )
    platform = models.CharField(max_length=10, choices=registry.choices)
    external_id = models.CharField(  # noqa: DJ001 - NULL until resolved; NULLs never collide in the unique key
        max_length=64, null=True, blank=True, help_text="The platform's post id; empty until a short link is resolved."
    )
    submitted_url = models.URLField(max_length=2048)
    canonical_url = models.URLField(max_length=2048)
    needs_resolution = models.BooleanField(
        default=False, help_text="A short link: the first scrape tells us the post id."
    )
    caption = models.TextField(blank=True)
    caption_hash = models.CharField(
        max_length=16, blank=True, help_text="Fingerprint of the scraped caption; empty until a scrape returns one."
    )
    caption_verdict = models.CharField(max_length=10, choices=CaptionVerdict.choices, default=CaptionVerdict.UNCHECKED)
    caption_reasons = models.JSONField(default=list, blank=True)
    # The picture the latest scrape returned (vendor CDN, https only, see tracking.platforms.items
    # thumbnail_url). Vendor CDN links are signed and expire after days or weeks: a post page may show
    # the placeholder's broken-image box until the next refresh brings a fresh link. Acceptable: we do
    # not copy vendors' images. A CharField, not a URLField: "" (no picture yet) is not a URI.
    thumbnail_url = models.CharField(
        max_length=2048, blank=True, help_text="The https picture the latest scrape returned; empty until one does."
    )
    author_platform_id = models.CharField(max_length=64, blank=True)
    author_handle = models.CharField(max_length=100, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    status_reason = models.CharField(max_length=500, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    views = models.PositiveBigIntegerField(null=True, blank=True)
    likes = models.PositiveBigIntegerField(null=True, blank=True)
    comments = models.PositiveBigIntegerField(null=True, blank=True)
    shares = models.PositiveBigIntegerField(null=True, blank=True)
    metrics_updated_at = models.DateTimeField(null=True, blank=True)
    growth_per_hour = models.FloatField(default=0, help_text="Recent views gained per hour (the scheduler's heat).")
    counting_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="End of the client account's counting window; views after it never count."
    )
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0)
    last_failure_reason = models.CharField(max_length=500, blank=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["guild", "platform", "external_id"], name="post_unique_per_guild_platform_id"
            ),
            # A post whose platform id is not known yet (a short link before its first scrape) is
            # unique by its canonical URL: 20 concurrent submissions of one short link make one post.
            models.UniqueConstraint(
                fields=["guild", "platform", "canonical_url"],
                condition=Q(external_id__isnull=True),
                name="post_unique_pending_url_per_guild",
            ),
            models.CheckConstraint(
                condition=Q(views__gte=0) & Q(likes__gte=0) & Q(comments__gte=0) & Q(shares__gte=0),
                name="post_counts_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["guild", "status", "next_refresh_at"], name="post_due_by_guild"),
            models.Index(fields=["status", "next_refresh_at"], name="post_due_all_guilds"),
            models.Index(fields=["guild", "submitted_at"], name="post_guild_submitted"),
            models.Index(fields=["guild", "creator", "submitted_at"], name="post_guild_creator"),
            models.Index(fields=["guild", "canonical_url"], name="post_guild_url"),
            models.Index(fields=["guild", "metrics_updated_at"], name="post_guild_updated"),
            # Every ingest looks for the guild's posts still waiting for their first scrape (short
            # links): few rows, so a partial index answers without a scan of the guild's posts.
            models.Index(
                fields=["guild", "platform"], condition=Q(needs_resolution=True), name="post_needs_resolution"
            ),
            models.Index(fields=["guild", "campaign", "submitted_at"], name="post_guild_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.external_id or self.submitted_url}"


class PostStatusChange(GuildOwned):
    """One step of a post's lifecycle: who moved it, when, and why. Append-only."""

    # guild_id alone needs no index: status_change_by_post leads with it.
    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+", db_index=False)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=Post.Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Post.Status.choices)
    reason = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=120, help_text='"system", "staff:alice", "discord:1234".')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["guild", "post", "created_at"], name="status_change_by_post")]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status} by {self.actor}"


class ScreenshotUpload(GuildOwned):
    """A screenshot a creator attached to a post (proof of views, usually)."""

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="screenshots")
    discord_url = models.URLField(max_length=2048, blank=True)
    file_path = models.CharField(max_length=500, blank=True, help_text="Relative to SCREENSHOT_STORAGE_PATH.")
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=50)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["post", "sha256"], name="screenshot_unique_per_post"),
        ]

    def __str__(self) -> str:
        return f"Screenshot {self.sha256[:12]} of post {self.post_id}"


class FraudSignal(GuildOwned):
    """A finding about a post that a person should review. Never changes a payout by itself."""

    class Kind(models.TextChoices):
        SPIKE_WITHOUT_ENGAGEMENT = "spike", "Views spiked without engagement"
        COUNT_DECREASED = "decrease", "A count went down"
        UNAVAILABLE = "unavailable", "Post deleted or private"
        OWNERSHIP_MISMATCH = "ownership", "Author does not match the profile"
        CAPTION = "caption", "Caption check failed"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="signals")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    reason = models.CharField(max_length=500)
    detected_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=120, blank=True)

    class Meta:
        db_table = "metrics_fraudsignal"  # created by metrics, kept when the model moved to the review queue
        ordering = ["-detected_at"]
        indexes = [models.Index(fields=["guild", "resolved_at", "detected_at"], name="signal_open_by_guild")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reason}"
