"""Money that has been decided: frozen post earnings, statements to pay, and the append-only ledger.

What a post *earns* is computed (earnings/selectors.py); these rows record what was *decided* about
it, so nothing about money is ever edited in place: a change is a new ledger entry.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from guilds.models import Creator, Guild, GuildOwned
from metrics.models import BonusAward
from tracking.models import Campaign, Post


class PostFinalization(GuildOwned):
    """A post's payable views and amount, frozen once its counting and validation windows passed.

    Reopening (an admin, with a reason, audited) stamps ``reopened_*``; the next finalization is a new
    row, and any difference in money becomes a ledger adjustment.
    """

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+", db_index=False)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="finalizations")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="+")
    views_payable = models.PositiveBigIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    finalized_at = models.DateTimeField()
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.CharField(max_length=120, blank=True)
    reopen_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-finalized_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["post"], condition=Q(reopened_at__isnull=True), name="one_open_finalization_per_post"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="finalization_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["guild", "campaign"], name="finalization_by_campaign")]

    def __str__(self) -> str:
        return f"Post {self.post_id}: {self.amount} {self.currency}"


class Statement(GuildOwned):
    """What one creator is owed by one campaign for one period: pending → approved → paid, or voided."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        PAID = "paid", "Paid"
        VOIDED = "voided", "Voided"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="statements")
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="statements")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    held_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=120)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=120, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.CharField(max_length=120, blank=True)
    payment_reference = models.CharField(max_length=200, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.CharField(max_length=120, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-period_end", "creator_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "creator", "period_start", "period_end"],
                condition=~Q(status="voided"),
                name="one_live_statement_per_period",
            ),
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")), name="statement_period"),
            models.CheckConstraint(
                condition=~Q(status="paid") | ~Q(payment_reference=""), name="paid_statement_has_reference"
            ),
            models.CheckConstraint(condition=~Q(status="voided") | ~Q(void_reason=""), name="void_has_reason"),
        ]
        indexes = [models.Index(fields=["guild", "status", "period_end"], name="statement_queue")]

    def __str__(self) -> str:
        return f"{self.creator_id} {self.amount} {self.currency} ({self.status})"


class LedgerEntry(GuildOwned):
    """One movement of money owed to a creator. Append-only: a correction is a new entry."""

    class Kind(models.TextChoices):
        EARNING = "earning", "Earnings for a period"
        ADJUSTMENT = "adjustment", "Adjustment"
        BONUS = "bonus", "Weekly bonus"
        PAYMENT = "payment", "Payment"
        VOID = "void", "Voided statement"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+", db_index=False)
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="ledger_entries")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="entries", null=True, blank=True)
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    bonus_award = models.ForeignKey(
        BonusAward,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        null=True,
        blank=True,
        help_text="The weekly bonus a bonus entry books (one entry per award).",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2, help_text="Positive: owed to the creator.")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bonus_award", "kind"], condition=Q(bonus_award__isnull=False), name="one_entry_per_bonus_kind"
            ),
        ]
        indexes = [models.Index(fields=["guild", "creator", "created_at"], name="ledger_by_creator")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class PayoutMethod(GuildOwned):
    """Where a creator wants to be paid (PayPal email or a wallet address), encrypted at rest with
    PAYOUT_ENCRYPTION_KEY (Fernet). Only ``masked`` is ever shown; the export for payment decrypts."""

    class Kind(models.TextChoices):
        PAYPAL = "paypal", "PayPal email"
        WALLET = "wallet", "Wallet address"

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+", db_index=False)
    creator = models.OneToOneField(Creator, on_delete=models.CASCADE, related_name="payout_method")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    encrypted = models.TextField(help_text="Fernet token of the address; never shown.")
    masked = models.CharField(max_length=80, help_text="What people see: ma***@example.com, 0x12…cdef.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["guild", "creator"], name="payout_method_by_creator")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.masked}"


class BrandReportLink(GuildOwned):
    """A read-only report of one campaign for its brand, behind a signed, expiring, revocable link.

    The URL carries ``<key_id>.<secret>.<signature>`` (earnings/brand_reports.py). Only ``key_id`` (to
    find the row) and the SHA-256 of the secret are stored, so the database alone cannot rebuild a
    link; the URL is shown once, when the link is made. Revoking stamps ``revoked_*`` (audited).
    """

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="brand_links")
    key_id = models.CharField(max_length=16, unique=True, help_text="Public half of the token: finds the row.")
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 (hex) of the token's secret; never the secret.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=120)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["guild", "campaign"], name="brand_link_by_campaign")]

    def __str__(self) -> str:
        return f"Brand report link {self.key_id[:6]}… for campaign {self.campaign_id}"

    def state(self, now) -> str:
        """active, expired or revoked (revoked wins)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"
