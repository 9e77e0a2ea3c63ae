"""Money in the demo guild: a campaign per client account in two currencies with caps, posts past
their windows finalized, a held (flagged) post, last week's statements (one approved, one paid), last
week's two top places booked as weekly bonuses (one paid, one still to pay), a campaign close to its
budget and one active brand report link. Idempotent within a week: reruns add no statements,
finalizations, bonuses or links."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal

from core.tenancy import guild_scope
from earnings.brand_reports import demo_link
from earnings.models import LedgerEntry, Statement
from earnings.selectors import campaign_burn
from earnings.services import (
    approve_statement,
    book_bonuses,
    check_budgets,
    create_statements,
    finalize_due_posts,
    mark_statement_paid,
    pay_bonus,
)
from guilds.models import BonusRule, Guild
from metrics.bonuses import last_complete_week, week_bounds
from metrics.models import BonusAward
from metrics.periods import period_bounds
from metrics.selectors import leaderboard_creators
from tracking.lifecycle import transition_post
from tracking.models import Campaign, ClientAccount, Post

ACTOR = "demo data"
# client account name → the campaign's brief
BRIEFS = {
    "Acme Energy": {
        "name": "Acme Energy — Winter push",
        "currency": "USD",
        "rate_per_1000": Decimal("1.50"),
        "platform_rates": {"youtube": "2.00"},
        "post_cap": Decimal("40.00"),
        "creator_cap": Decimal("150.00"),
        "min_views": 1000,
        "counting_window_days": 14,
        "validation_window_days": 3,
        "total_budget": Decimal("5000.00"),
    },
    "Northwind Audio": {
        "name": "Northwind Audio — Launch",
        "currency": "EUR",
        "rate_per_1000": Decimal("1.20"),
        "post_cap": Decimal("25.00"),
        "min_views": 500,
        "counting_window_days": 10,
        "validation_window_days": 2,
        "total_budget": None,  # set below to leave the campaign about 93 % spent
    },
    "Globex Games": {
        "name": "Globex Games — Always on",
        "currency": "USD",
        "rate_per_1000": Decimal("1.00"),
        "counting_window_days": 30,
        "validation_window_days": 3,
    },
}
NEAR_BUDGET = Decimal("0.93")


def load_demo_money(*, guild: Guild, now: datetime) -> str:
    """Campaigns, finalizations, a held post, statements, a nearly spent budget and a brand report
    link (see module doc). Returns the link's path."""
    with guild_scope(guild.pk):
        campaigns = [_campaign(guild, account, now) for account in ClientAccount.objects.for_guild(guild)]
        _hold_one(guild, campaigns[0])
        finalize_due_posts(guild_id=guild.pk, now=now)
        _near_budget(guild, now)
        _statements(guild, campaigns[0], now)
        _bonuses(guild, now)
        check_budgets(guild_id=guild.pk, now=now)
        return demo_link(guild_id=guild.pk, campaign=campaigns[0], now=now, actor=ACTOR).path if campaigns else ""


def _campaign(guild: Guild, account: ClientAccount, now: datetime) -> Campaign:
    brief = dict(BRIEFS.get(account.name, {"name": account.name}))
    campaign = Campaign.objects.for_guild(guild).filter(client_account=account).first()
    if campaign is None:
        campaign = Campaign.objects.create(
            guild=guild,
            client_account=account,
            status=Campaign.Status.ACTIVE,
            starts_at=now - timedelta(days=30),
            required_tags=account.required_tags,
            banned_words=account.banned_words,
            **brief,
        )
    posts = list(Post.objects.for_guild(guild).filter(client_account=account))
    for post in posts:  # the campaign's counting window, as a submission would have set it
        post.campaign = campaign
        post.counting_ends_at = post.submitted_at + timedelta(days=campaign.counting_window_days)
    Post.objects.bulk_update(posts, ["campaign", "counting_ends_at"])
    return campaign


def _hold_one(guild: Guild, campaign: Campaign) -> None:
    if Post.objects.for_guild(guild).filter(campaign=campaign, status=Post.Status.FLAGGED).exists():
        return
    post = (
        Post.objects.for_guild(guild).filter(campaign=campaign, status=Post.Status.TRACKING).order_by("-views").first()
    )
    if post is not None:
        transition_post(post=post, to_status=Post.Status.FLAGGED, reason="Views spiked without engagement", actor=ACTOR)


def _near_budget(guild: Guild, now: datetime) -> None:
    campaign = Campaign.objects.for_guild(guild).filter(name=BRIEFS["Northwind Audio"]["name"]).first()
    if campaign is None or campaign.total_budget is not None:
        return
    used = campaign_burn(guild_id=guild.pk, campaign=campaign, at=now).used
    campaign.total_budget = max(Decimal("1.00"), (used / NEAR_BUDGET).quantize(Decimal("1"), rounding=ROUND_UP))
    campaign.save(update_fields=["total_budget"])


def _statements(guild: Guild, campaign: Campaign, now: datetime) -> None:
    start, end = period_bounds(period="last_week", now=now, tz=guild.tz)
    create_statements(guild_id=guild.pk, campaign=campaign, start=start, end=end, actor=ACTOR)
    pending = list(
        Statement.objects.for_guild(guild)
        .filter(campaign=campaign, period_start=start, status=Statement.Status.PENDING)
        .order_by("-amount", "pk")
    )
    already = Statement.objects.for_guild(guild).filter(campaign=campaign, period_start=start).exclude(status="pending")
    if already.exists() or len(pending) < 2:
        return
    paid, approved = pending[0], pending[1]
    approve_statement(guild_id=guild.pk, statement_id=approved.pk, actor=ACTOR)
    approve_statement(guild_id=guild.pk, statement_id=paid.pk, actor=ACTOR)
    mark_statement_paid(guild_id=guild.pk, statement_id=paid.pk, reference="PAYPAL-DEMO-7Q2", actor=ACTOR)


DEMO_BONUS_PLACES = ("Top clipper", "Runner-up")  # rules the demo guild has (tracking.demo)


def _bonuses(guild: Guild, now: datetime) -> None:
    """Last complete week's top places (held posts left out, as awarding does) as bonus awards booked
    in the ledger; the first is paid, the second waits on the Money page. Once per place and week."""
    week = last_complete_week(now=now, tz=guild.tz)
    start, end = week_bounds(week_start=week, tz=guild.tz)
    winners = [c for c in leaderboard_creators(guild=guild, start=start, end=end, held=False) if c.views_gained > 0]
    rules = {r.name: r for r in BonusRule.objects.for_guild(guild).filter(name__in=DEMO_BONUS_PLACES)}
    for place, (name, winner) in enumerate(zip(DEMO_BONUS_PLACES, winners, strict=False), start=1):
        rule = rules.get(name)
        if rule is None or BonusAward.objects.for_guild(guild).filter(rule=rule, week_start=week).exists():
            continue
        BonusAward.objects.create(
            guild=guild,
            creator_id=winner.creator_id,
            rule=rule,
            week_start=week,
            views_gained=winner.views_gained,
            place=place,
            amount=rule.amount,
            currency=rule.currency,
        )
    book_bonuses(guild_id=guild.pk)
    booked = LedgerEntry.objects.for_guild(guild).filter(bonus_award__week_start=week, bonus_award__place=1)
    top = booked.filter(kind=LedgerEntry.Kind.BONUS).first()
    if top is not None and not booked.filter(kind=LedgerEntry.Kind.PAYMENT).exists():
        pay_bonus(guild_id=guild.pk, entry_id=top.pk, reference="PAYPAL-DEMO-B1", actor=ACTOR)
