"""Operator commands tell the true state: a report queued but not sent is not "already sent", a dry run
of the bonuses counts only what a real run would create, and a waiting batch says why it waits."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.tenancy import guild_scope
from guilds.budgets import usage_day
from guilds.models import BonusRule, GuildApiUsage, GuildBudgetConfig, GuildNotification
from metrics.bonuses import award_week
from metrics.models import BonusAward
from metrics.reports import queue_daily_report
from tests.factories import make_bonus_rule, make_post, make_profile
from tests.metrics.test_reports_and_bonuses import WEEK, local, world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("discord_settings")]


def test_report_dry_run_does_not_call_a_queued_unsent_report_already_sent(world, capsys, bypass):  # noqa: F811
    guild, _ = world
    assert queue_daily_report(guild_id=guild.pk, now=local(23, 9, 10)).status == "queued"
    with bypass():
        GuildNotification.objects.filter(kind="daily_report").update(
            status=GuildNotification.Status.DROPPED, last_error="no Discord destination"
        )
    outcome = queue_daily_report(guild_id=guild.pk, now=local(23, 18), dry_run=True)
    assert outcome.status == "already_queued"
    assert outcome.detail.startswith("not sent: no Discord destination")
    with bypass():
        GuildNotification.objects.filter(kind="daily_report").update(
            status=GuildNotification.Status.PENDING, last_error="no updates channel or webhook set"
        )
    outcome = queue_daily_report(guild_id=guild.pk, now=local(23, 18), dry_run=True)
    assert outcome.detail == "queued, not sent yet: no updates channel or webhook set"
    with bypass():
        GuildNotification.objects.filter(kind="daily_report").update(status=GuildNotification.Status.SENT)
    assert queue_daily_report(guild_id=guild.pk, now=local(23, 18), dry_run=True).status == "already_sent"


def test_award_dry_run_counts_only_what_a_real_run_would_create(world, capsys):  # noqa: F811
    guild, _ = world
    make_bonus_rule(guild, name="Winner", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=1, amount=50)
    make_bonus_rule(guild, name="Over 1000", kind=BonusRule.Kind.THRESHOLD, min_views_gained=1000, amount=5)
    done = award_week(guild_id=guild.pk, week_start=WEEK, now=local(23, 9))
    assert done.created == 3  # alice: Winner and Over 1000; bob: Over 1000
    with guild_scope(guild.pk):
        BonusAward.objects.for_guild(guild).filter(creator__username="bob").delete()
    dry = award_week(guild_id=guild.pk, week_start=WEEK, now=local(23, 9), dry_run=True)
    assert (dry.created, [a.creator_name for a in dry.new_awards]) == (1, ["bob"])
    call_command("award_weekly_bonuses", "--guild", str(guild.pk), "--week", "2026-11-18", "--dry-run")
    out = capsys.readouterr().out
    assert "would award 1 new award (2 already awarded, unchanged)" in out
    assert "alice: Winner 50.00 USD (5000 views, #1) (already awarded)" in out
    assert "bob: Over 1000 5.00 USD (2400 views, #2)\n" in out


def _due(guild, n):
    now = timezone.now()
    profile = make_profile(guild)
    for _ in range(n):
        make_post(guild, profile=profile, next_refresh_at=now - timedelta(minutes=1), views=10, growth_per_hour=0)


def test_refresh_dry_run_says_why_a_batch_waits(guild, capsys, settings):
    settings.SCHEDULER_BUDGET_RESERVE_SHARE = 0
    with guild_scope(guild.pk):
        GuildBudgetConfig.objects.for_guild(guild).update(apify_max_items_per_run=10, daily_apify_run_limit=5)
    _due(guild, 2)  # just due, 2 of 10: the run waits to fill up
    call_command("refresh_metrics", "--dry-run", "--guild", str(guild.pk))
    assert "waiting: batch not full yet" in capsys.readouterr().out
    with guild_scope(guild.pk):
        GuildApiUsage.objects.create(guild=guild, day=usage_day(timezone.now()), apify_run_count=5)
    call_command("refresh_metrics", "--dry-run", "--guild", str(guild.pk))
    assert "waiting: today's Apify runs are spent" in capsys.readouterr().out
