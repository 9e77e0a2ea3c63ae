"""Measurements and what is derived from them: snapshots and bonus awards."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from guilds.models import BonusRule, Creator, Guild, GuildOwned
from tracking.models import Post


class VideoMetrics(GuildOwned):
    """One measurement of a post's counts at one moment, with where it came from.

    Append-mostly and by far the largest table. Unique per (post, captured_at), so processing the
    same dataset twice changes nothing.
    """

    class Provider(models.TextChoices):
        APIFY = "apify", "Apify"
        YOUTUBE = "youtube", "YouTube Data API"
        IMPORT = "import", "Imported dataset"
        DEMO = "demo", "Demo data"

    # No index of its own: (guild, captured_at) leads with it. An index is one more write per snapshot.
    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+", db_index=False)
    # No index of its own: the unique (post, captured_at) index serves every look-up by post (and a
    # second index on post alone was one more write per snapshot, and a worse plan for a series).
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="snapshots", db_index=False)
    captured_at = models.DateTimeField()
    views = models.PositiveBigIntegerField(null=True, blank=True)
    likes = models.PositiveBigIntegerField(null=True, blank=True)
    comments = models.PositiveBigIntegerField(null=True, blank=True)
    shares = models.PositiveBigIntegerField(null=True, blank=True)
    saves = models.PositiveBigIntegerField(null=True, blank=True)
    provider = models.CharField(max_length=10, choices=Provider.choices)
    apify_run_id = models.CharField(max_length=32, blank=True)
    source_field = models.CharField(max_length=40, blank=True, help_text="The vendor field views came from.")
    rounded = models.BooleanField(default=False, help_text="The platform rounds this number (e.g. 1.2K).")

    class Meta:
        verbose_name = "metrics snapshot"
        verbose_name_plural = "metrics snapshots"
        ordering = ["-captured_at"]
        constraints = [
            models.UniqueConstraint(fields=["post", "captured_at"], name="snapshot_unique_per_post_time"),
            models.CheckConstraint(
                condition=Q(views__gte=0) & Q(likes__gte=0) & Q(comments__gte=0) & Q(shares__gte=0) & Q(saves__gte=0),
                name="snapshot_counts_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["guild", "captured_at"], name="snapshot_guild_time"),
        ]

    def __str__(self) -> str:
        return f"Post {self.post_id} at {self.captured_at:%Y-%m-%d %H:%M}: {self.views} views"


class PostDailyRollup(GuildOwned):
    """A post's last measurement of each UTC day: the views, likes, comments and shares of its newest
    snapshot with views captured that day (``captured_at`` says which one).

    Days are UTC dates of ``captured_at`` whatever the guild's time zone: a guild-local day is then
    whole UTC days plus partial edges read from the snapshots. Maintained by ingestion in the same
    transaction as the snapshots (one upsert per dataset); ``manage.py rebuild_rollups`` rebuilds it
    from the snapshots (metrics.rollups). Unique per (post, day).
    """

    # No index of its own: (guild, day) leads with it (and the planner, offered guild alone, would
    # filter a whole guild's rows by day).
    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+", db_index=False)
    # No index of its own: the unique (post, day) index serves every look-up by post.
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="daily_rollups", db_index=False)
    day = models.DateField(help_text="UTC date of captured_at.")
    captured_at = models.DateTimeField(help_text="The snapshot these numbers come from: the day's newest.")
    views = models.PositiveBigIntegerField()
    likes = models.PositiveBigIntegerField(null=True, blank=True)
    comments = models.PositiveBigIntegerField(null=True, blank=True)
    shares = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "day"], name="rollup_unique_per_post_day")]
        # Covering (PostgreSQL): the leaderboard joins a whole day's rows per guild (metrics.selectors)
        # and reads them from the index alone.
        indexes = [
            models.Index(fields=["guild", "day"], name="rollup_guild_day", include=["post", "views", "captured_at"])
        ]

    def __str__(self) -> str:
        return f"Post {self.post_id} on {self.day}: {self.views} views"


class BonusAward(GuildOwned):
    """A weekly bonus earned by a creator under one rule. Unique per (guild, creator, week, rule).

    Amount and currency are the rule's when awarded (a later change of the rule changes no award);
    earnings.services.book_bonuses books each award once as a ``bonus`` ledger entry."""

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="bonus_awards")
    rule = models.ForeignKey(BonusRule, on_delete=models.PROTECT, related_name="awards")
    week_start = models.DateField(help_text="Monday of the week, in the guild's time zone.")
    views_gained = models.PositiveBigIntegerField()
    place = models.PositiveSmallIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(
        max_length=3, default="USD", help_text="The rule's currency when it was awarded (ISO 4217)."
    )
    announced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week_start", "place"]
        constraints = [
            models.UniqueConstraint(fields=["guild", "creator", "week_start", "rule"], name="bonus_award_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="bonus_award_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["guild", "week_start"], name="bonus_award_guild_week")]

    def __str__(self) -> str:
        return f"{self.creator} — {self.rule.name} — week of {self.week_start}"
