"""Weekly bonuses: each guild's active BonusRules applied to the views gained inside one week.

The week runs from Monday 00:00 to the next Monday 00:00 in the guild's time zone; views gained are
``as_of(week end) - as_of(week start)`` per post, summed per creator — exactly the number of
``metrics.selectors.leaderboard`` for that range, **less held posts**: a post flagged for review
(status ``flagged`` when the week is awarded) counts for nothing until a reviewer releases it, so no
bonus is won, announced or booked on views nobody has checked. Rejected posts never count.

- threshold rule: every creator whose week's gain is at least ``min_views_gained`` (and above 0);
- top-N rule: the creator ranked ``place`` (ties: lower creator id first), if they gained anything.

Awards are BonusAward rows, unique per (guild, creator, week, rule), carrying the rule's amount and
currency: rerunning a week changes nothing already awarded. Rerunning a week after held posts were
released can add threshold awards they now reach; a top-N place, once given, is never given again
that week. New awards are announced once to the updates channel (a GuildNotification queued in the
same transaction that sets ``announced_at``). Each award is booked once as a ``bonus`` ledger entry
by the earnings layer (earnings.services.book_bonuses), so bonuses are money in the ledger.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.tenancy import guild_scope
from guilds.bot_events import queue_bot_event
from guilds.models import BonusRule, Guild
from guilds.notifications import notify
from metrics.models import BonusAward
from metrics.periods import period_bounds
from metrics.reports import active_guild_ids
from metrics.selectors import CreatorGain, leaderboard_creators


class WeekNotOver(ValueError):
    """Bonuses are only awarded for a week that has ended."""


@dataclass(frozen=True)
class AwardLine:
    creator_id: int
    creator_name: str
    discord_user_id: str
    rule_id: int
    rule_name: str
    views_gained: int
    place: int
    amount: str
    currency: str


@dataclass
class BonusOutcome:
    guild_id: int
    week_start: date
    awards: list[AwardLine] = field(default_factory=list)
    created: int = 0  # dry run: how many a real run would create
    announced: int = 0
    dry_run: bool = False
    already: set[tuple[int, int]] = field(default_factory=set)  # (creator, rule) awarded before this run

    @property
    def new_awards(self) -> list[AwardLine]:
        return [a for a in self.awards if (a.creator_id, a.rule_id) not in self.already]


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bounds(*, week_start: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) local time of the week containing ``week_start``."""
    monday = monday_of(week_start)
    return datetime.combine(monday, time(0), tzinfo=tz), datetime.combine(
        monday + timedelta(days=7), time(0), tzinfo=tz
    )


def last_complete_week(*, now: datetime, tz: ZoneInfo) -> date:
    """The Monday of the last week that has ended in ``tz``."""
    return period_bounds(period="last_week", now=now, tz=tz)[0].date()


def eligible_awards(
    *, creators: list[CreatorGain], rules: list[BonusRule], places_given: dict[int, int] | None = None
) -> list[AwardLine]:
    """The awards the rules give for a week's per-creator gains (pure: no database). ``places_given``
    maps a top-N rule to the creator it was already awarded to that week: that award stands, and
    nobody else gets the place."""
    lines = []
    given = places_given or {}
    for rule in rules:
        if rule.kind == BonusRule.Kind.THRESHOLD:
            winners = [c for c in creators if c.views_gained > 0 and c.views_gained >= (rule.min_views_gained or 0)]
        elif rule.pk in given:
            winners = [c for c in creators if c.creator_id == given[rule.pk]]
        else:
            winners = [c for c in creators if c.rank == rule.place and c.views_gained > 0]
        lines += [
            AwardLine(
                c.creator_id,
                c.creator_name,
                c.discord_user_id,
                rule.pk,
                rule.name,
                c.views_gained,
                c.rank,
                f"{rule.amount:.2f}",
                rule.currency,
            )
            for c in winners
        ]
    return lines


def award_week(*, guild_id: int, week_start: date, now: datetime | None = None, dry_run: bool = False) -> BonusOutcome:
    """Award (and announce) one guild's bonuses for the week containing ``week_start``.

    Idempotent: existing awards are never changed; only missing ones are created and only
    unannounced ones announced. Raises ``WeekNotOver`` for a week that has not ended yet.
    """
    now = now or timezone.now()
    with guild_scope(guild_id):
        guild = Guild.objects.get(pk=guild_id)
        start, end = week_bounds(week_start=week_start, tz=guild.tz)
        if end > now:
            raise WeekNotOver(f"the week of {start.date():%Y-%m-%d} ends {end.isoformat()}; it is not over yet")
        creators = leaderboard_creators(guild=guild, start=start, end=end, held=False)
        rules = list(BonusRule.objects.for_guild(guild).filter(active=True).order_by("pk"))
        already = _awarded(guild, start.date())
        places = {rule_id: creator_id for creator_id, rule_id in already if rule_id in _top_n_ids(rules)}
        awards = eligible_awards(creators=creators, rules=rules, places_given=places)
        outcome = BonusOutcome(guild_id, start.date(), awards, dry_run=dry_run)
        outcome.already = already
        if dry_run:
            outcome.created = len(outcome.new_awards)
            return outcome
        with transaction.atomic():
            outcome.created = _create_missing(guild, start.date(), outcome.awards)
            outcome.announced = _announce(guild, start.date(), now)
        return outcome


def _top_n_ids(rules: list[BonusRule]) -> set[int]:
    return {r.pk for r in rules if r.kind == BonusRule.Kind.TOP_N}


def _awarded(guild: Guild, week_start: date) -> set[tuple[int, int]]:
    week = BonusAward.objects.for_guild(guild).filter(week_start=week_start)
    return set(week.values_list("creator_id", "rule_id"))


def _create_missing(guild: Guild, week_start: date, lines: list[AwardLine]) -> int:
    have = _awarded(guild, week_start)
    new = [
        BonusAward(
            guild=guild,
            creator_id=a.creator_id,
            rule_id=a.rule_id,
            week_start=week_start,
            views_gained=a.views_gained,
            place=a.place,
            amount=a.amount,
            currency=a.currency,
        )
        for a in lines
        if (a.creator_id, a.rule_id) not in have
    ]
    BonusAward.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent run's rows win
    return len(new)


def _announce(guild: Guild, week_start: date, now: datetime) -> int:
    pending: QuerySet[BonusAward] = (
        BonusAward.objects.for_guild(guild)
        .filter(week_start=week_start, announced_at__isnull=True)
        .select_related("creator", "rule")
        .order_by("rule__kind", "place", "pk")
    )
    awards = list(pending.select_for_update(of=("self",)))
    if not awards:
        return 0
    ids = ",".join(str(a.pk) for a in awards)
    key = f"bonus:{week_start:%Y-%m-%d}:{hashlib.sha256(ids.encode()).hexdigest()[:16]}"
    lines = [
        f"<@{a.creator.discord_user_id}> — **{a.rule.name}**: {a.amount} {a.currency} "
        f"({a.views_gained:,} views gained" + (f", #{a.place}" if a.place else "") + ")"
        for a in awards
    ]
    queue_bot_event(
        event_type="bonuses.awarded",
        payload={
            "week_start": week_start.isoformat(),
            "awards": [
                {
                    "discord_user_id": a.creator.discord_user_id,
                    "rule": a.rule.name,
                    "amount": str(a.amount),
                    "currency": a.currency,
                    "views_gained": a.views_gained,
                    "place": a.place,
                }
                for a in awards
            ],
        },
        guild_id=guild.pk,
    )
    notify(
        guild_id=guild.pk,
        kind="bonus",
        event_key=key,
        title=f"Weekly bonuses — week of {week_start:%d %B %Y}",
        body="\n".join(lines),
        channel="updates",
    )
    return BonusAward.objects.for_guild(guild).filter(pk__in=[a.pk for a in awards]).update(announced_at=now)


def award_weekly_bonuses(
    *, now: datetime | None = None, guild_id: int | None = None, week: date | None = None, dry_run: bool = False
) -> list[BonusOutcome]:
    """Award the bonuses of every active guild (or one) for ``week`` (default: each guild's last
    complete week in its own time zone). Raises ``WeekNotOver`` only for an explicit ``week``."""
    now = now or timezone.now()
    outcomes = []
    for gid in active_guild_ids(guild_id):
        if week is None:
            with guild_scope(gid):
                tz = Guild.objects.get(pk=gid).tz
            outcomes.append(
                award_week(guild_id=gid, week_start=last_complete_week(now=now, tz=tz), now=now, dry_run=dry_run)
            )
        else:
            outcomes.append(award_week(guild_id=gid, week_start=week, now=now, dry_run=dry_run))
    return outcomes
