"""The money: what each post earned in a period, held or payable, under its campaign's brief.

``earnings()`` is the one function every surface reads (command, API, CSV, statements), so the numbers
agree everywhere. It runs a constant number of queries (campaigns; posts with their window views read
by the leaderboard's ``metrics.selectors.views_at_window_end``: whole days from the daily rollups, a
partial day or a counting window's end from the snapshots) and does the arithmetic in Decimal, never
float.

The rules, per post of a campaign:

* **Views in the window.** A post's views at an instant *t* are those of its last snapshot captured
  before ``min(t, counting_ends_at)``; views after the counting window never count. With the baseline
  rule ``gained`` the post's first snapshot is subtracted (views gained since submission); with ``all``
  every view counts.
* **Amount.** ``min(post cap, payable views × rate / 1000)``, rounded half-up to cents *per post*;
  zero while payable views are below the campaign's minimum. The rate is the campaign's rate for the
  post's platform. Rejected posts, posts on a platform the campaign does not pay, and posts gone before
  their window ended on a ``forfeit`` campaign earn zero. *Gone before the end* means the post was
  found unavailable (its latest move to ``unavailable`` in its status history) before
  ``counting_ends_at``; a post found gone at or after the end keeps its money whatever the rule (we
  cannot say it vanished earlier: it was there at its last good refresh). A post with no recorded move
  falls back to its last good refresh (``metrics_updated_at``).
* **Finalized posts** earn exactly their frozen amount (earnings.PostFinalization) once their counting
  window is over, whatever later snapshots say.
* **Period.** A post's money for [start, end) is its cumulative money at ``end`` less that at
  ``start`` — so periods add up, and each side is rounded to cents before subtracting.
* **Creator cap.** Per creator per campaign, over all time: posts are served in submission order
  (held posts after payable ones) until the cap is used up.
* **Budget.** The campaign's total budget is shared in submission order (oldest post first, ties by
  id), after creator caps; the **latest-submitted posts are cut** when it runs out. Held posts reserve
  their share, so releasing a held post never takes money from anyone already counted, and rejecting
  one frees its share for the posts after it.
* **Held.** A flagged post's money is *held*: counted in ``held_amount``, not in ``amount``, until a
  reviewer releases (→ tracking) or rejects (→ zero) it.

Reported per post: ``amount`` = its period money after post cap and budget cut, before the creator cap;
per creator: ``amount`` = the sum over payable posts less their creator-cap cut (``capped`` when there
was one), ``held_amount`` = the same over held posts; ``total``/``held_total`` sum the creators. Every
figure is keyed by the campaign's currency.

**Weekly bonuses** are not campaign money: they are ``bonus`` ledger entries (one per award,
earnings.services.book_bonuses), in the bonus rule's currency. A bonus belongs to a period when its
week's start (Monday 00:00 in the guild's time zone) is inside [start, end). They are reported beside
the creators, never inside a creator's ``amount`` or ``total`` (those stay the campaign money of the
contract): ``bonuses`` lists them and ``bonus_total`` sums them per currency; both are empty when the
request names one campaign.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, OuterRef, Subquery

from earnings.models import LedgerEntry, PostFinalization, Statement
from guilds.models import Creator
from metrics.models import VideoMetrics
from metrics.selectors import views_at_window_end
from tracking.models import Campaign, Post, PostStatusChange

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(amount: Decimal) -> Decimal:
    """Half-up to cents: 0.005 → 0.01, 0.0049 → 0.00."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PostEarning:
    post_id: int
    campaign_id: int
    creator_id: int
    platform: str
    url: str
    status: str
    currency: str
    views_payable: int
    min_views: int
    rate_per_1000: Decimal
    post_cap: Decimal | None
    amount: Decimal
    held: bool
    hold_reason: str
    budget_cut: Decimal
    creator_cap_cut: Decimal


@dataclass
class CreatorEarning:
    creator_id: int
    discord_user_id: str
    username: str
    capped: bool = False
    amount: dict[str, Decimal] = field(default_factory=dict)
    held_amount: dict[str, Decimal] = field(default_factory=dict)
    posts: list[PostEarning] = field(default_factory=list)


@dataclass(frozen=True)
class BonusEarning:
    """A weekly bonus booked in the ledger (a ``bonus`` entry)."""

    entry_id: int
    creator_id: int
    discord_user_id: str
    username: str
    week_start: date
    rule: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Earnings:
    guild_id: int
    start: datetime
    end: datetime
    creators: list[CreatorEarning]
    total: dict[str, Decimal]
    held_total: dict[str, Decimal]
    bonuses: list[BonusEarning] = field(default_factory=list)
    bonus_total: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class _Cumulative:
    """One post's money as of one instant, before and after the creator cap and the budget."""

    views: int
    amount: Decimal  # after post cap, min views, status rules
    share: Decimal  # after the creator cap
    final: Decimal  # after the budget


def earnings(*, guild_id: int, start: datetime, end: datetime, campaign_id: int | None = None) -> Earnings:
    """Money earned in [start, end) per creator and post, for one campaign or every campaign of the guild."""
    campaigns = {c.pk: c for c in _campaigns(guild_id, campaign_id)}
    rows = _with_gone_at(guild_id, _post_rows(guild_id, list(campaigns), start, end))
    at_start = _allocate(rows, campaigns, "start", start)
    at_end = _allocate(rows, campaigns, "end", end)
    creators: dict[int, CreatorEarning] = {}
    for row in rows:
        post = _post_earning(row, campaigns[row["campaign_id"]], at_start[row["id"]], at_end[row["id"]])
        if post.views_payable == 0 and post.amount == ZERO and post.creator_cap_cut == ZERO:
            continue
        creator = creators.get(row["creator_id"]) or creators.setdefault(
            row["creator_id"],
            CreatorEarning(row["creator_id"], row["creator__discord_user_id"], row["creator__username"]),
        )
        _add_post(creator, post)
    ordered = sorted(creators.values(), key=lambda c: (-sum(c.amount.values(), ZERO), c.username, c.creator_id))
    bonuses = booked_bonuses(guild_id=guild_id, start=start, end=end) if campaign_id is None else []
    return Earnings(
        guild_id=guild_id,
        start=start,
        end=end,
        creators=ordered,
        total=_sum_dicts(c.amount for c in ordered),
        held_total=_sum_dicts(c.held_amount for c in ordered),
        bonuses=bonuses,
        bonus_total=_sum_dicts({b.currency: b.amount} for b in bonuses),
    )


def booked_bonuses(
    *, guild_id: int, start: datetime, end: datetime, creator_id: int | None = None
) -> list[BonusEarning]:
    """The weekly bonuses booked in the ledger whose week starts (Monday 00:00, guild time) inside
    [start, end), oldest week first. One query."""
    entries = (
        LedgerEntry.objects.for_guild(guild_id)
        .filter(
            kind=LedgerEntry.Kind.BONUS,
            bonus_award__isnull=False,
            bonus_award__week_start__gte=(start - timedelta(days=1)).date(),  # local dates are ±1 day of UTC
            bonus_award__week_start__lte=(end + timedelta(days=1)).date(),
        )
        .select_related("guild", "creator", "bonus_award__rule")
        .order_by("bonus_award__week_start", "creator__username", "pk")
    )
    if creator_id is not None:
        entries = entries.filter(creator_id=creator_id)
    found = []
    for e in entries:
        week = e.bonus_award.week_start
        if start <= datetime.combine(week, time(0), tzinfo=e.guild.tz) < end:
            found.append(
                BonusEarning(
                    e.pk,
                    e.creator_id,
                    e.creator.discord_user_id,
                    e.creator.username,
                    week,
                    e.bonus_award.rule.name,
                    e.amount,
                    e.currency,
                )  # fmt: skip
            )
    return found


def frozen_amounts(
    *, guild_id: int, campaign: Campaign, post_ids: list[int], at: datetime
) -> dict[int, tuple[int, Decimal]]:
    """What finalization freezes per post as of ``at``: (payable views, amount after post cap and
    minimum), before creator cap and budget (those are shared, so they stay computed)."""
    rows = [r for r in _post_rows(guild_id, [campaign.pk], at, at) if r["id"] in set(post_ids)]
    rows = _with_gone_at(guild_id, rows)
    return {r["id"]: _cumulative({**r, "final_amount": None}, campaign, "end", at) for r in rows}


@dataclass(frozen=True)
class Burn:
    """A campaign's budget as of one moment, in its currency. ``used`` = spent + pending + held."""

    campaign_id: int
    currency: str
    budget: Decimal | None
    spent: Decimal  # frozen money of finalized posts
    pending: Decimal  # accruing or inside the validation window, not held
    held: Decimal  # flagged posts, until reviewed
    remaining: Decimal | None
    percent_used: Decimal | None  # 0-100, two decimals
    days_left: int | None  # until the campaign's end date

    @property
    def used(self) -> Decimal:
        return self.spent + self.pending + self.held


def campaign_burn(*, guild_id: int, campaign: Campaign, at: datetime) -> Burn:
    """Spent, pending, held, remaining and days left for one campaign (same allocation as earnings)."""
    return campaign_burns(guild_id=guild_id, campaigns=[campaign], at=at)[campaign.pk]


def campaign_burns(*, guild_id: int, campaigns: list[Campaign], at: datetime) -> dict[int, Burn]:
    """``campaign_burn`` for many campaigns in one query (the Money page lists them all)."""
    by_id = {c.pk: c for c in campaigns}
    rows = _with_gone_at(guild_id, _post_rows(guild_id, list(by_id), at, at))
    allocated = _allocate(rows, by_id, "end", at)
    sums = {pk: {"spent": ZERO, "pending": ZERO, "held": ZERO} for pk in by_id}
    for r in rows:
        bucket = (
            "held"
            if r["status"] == Post.Status.FLAGGED
            else "spent"
            if r["status"] == Post.Status.FINALIZED
            else "pending"
        )
        sums[r["campaign_id"]][bucket] += allocated[r["id"]].final
    return {pk: _burn(by_id[pk], at, **sums[pk]) for pk in by_id}


def _burn(campaign: Campaign, at: datetime, *, spent: Decimal, pending: Decimal, held: Decimal) -> Burn:
    # Each amount is a sum of cents; to_cents only drops the extra places a database may hand back
    # for a summed frozen amount (51.410000000000000 on SQLite), so every surface shows 51.41.
    spent, pending, held = to_cents(spent), to_cents(pending), to_cents(held)
    used, budget = spent + pending + held, campaign.total_budget
    percent = None
    if budget is not None:
        percent = Decimal(100) if budget == 0 else to_cents(used * 100 / budget)
    days_left = None if campaign.ends_at is None else max(0, (campaign.ends_at - at).days)
    return Burn(
        campaign_id=campaign.pk,
        currency=campaign.currency,
        budget=budget,
        spent=spent,
        pending=pending,
        held=held,
        remaining=None if budget is None else budget - used,
        percent_used=percent,
        days_left=days_left,
    )


def bonus_entries(
    *, guild_id: int, paid: bool | None = None, creator_id: int | None = None
) -> list[tuple[LedgerEntry, LedgerEntry | None]]:
    """Each weekly bonus booked in the ledger with its payment entry (None while unpaid), newest week
    first; ``paid`` keeps only the paid or the unpaid ones, ``creator_id`` one creator's. One query
    (the Money page, the API)."""
    entries = (
        LedgerEntry.objects.for_guild(guild_id)
        .filter(bonus_award__isnull=False, kind__in=(LedgerEntry.Kind.BONUS, LedgerEntry.Kind.PAYMENT))
        .select_related("creator", "bonus_award__rule")
        .order_by("-bonus_award__week_start", "creator__username", "pk")
    )
    if creator_id is not None:
        entries = entries.filter(creator_id=creator_id)
    bonuses, payments = [], {}
    for entry in entries:
        if entry.kind == LedgerEntry.Kind.BONUS:
            bonuses.append(entry)
        else:
            payments[entry.bonus_award_id] = entry
    pairs = [(b, payments.get(b.bonus_award_id)) for b in bonuses]
    return pairs if paid is None else [(b, p) for b, p in pairs if (p is not None) == paid]


@dataclass(frozen=True)
class CreatorMoney:
    """A creator's money in one currency: earned (payable campaign money, all time), held, weekly
    bonuses booked, paid (paid statements and paid bonuses), and still to pay. ``approved`` is the
    part of it in approved statements waiting for payment (pending payment)."""

    currency: str
    earned: Decimal
    held: Decimal
    paid: Decimal
    bonuses: Decimal = ZERO
    approved: Decimal = ZERO

    @property
    def to_pay(self) -> Decimal:
        return self.earned + self.bonuses - self.paid


@dataclass(frozen=True)
class CreatorMoneyRow:
    """One creator's money in every currency they have any (the Money page's creators list)."""

    creator_id: int
    discord_user_id: str
    username: str
    money: list[CreatorMoney]

    def total(self, name: str) -> Decimal:
        """One figure summed over currencies: only to order the list (never shown as money)."""
        return sum((getattr(m, name) for m in self.money), ZERO)


def creator_money(*, guild_id: int, creator_id: int, at: datetime) -> list[CreatorMoney]:
    """What /stats shows: the earnings selector's all-time amounts for one creator (campaign money and
    booked bonuses) and what was paid (statements and bonus payments), per currency (caps and budgets
    are shared, so the whole guild is computed)."""
    rows = creators_money(guild_id=guild_id, at=at, creator_ids=[creator_id])
    return rows[0].money if rows else []


def all_time_earnings(*, guild_id: int, at: datetime) -> Earnings:
    """``earnings`` from the beginning to ``at``: what creators' money (and /stats) is read from."""
    return earnings(guild_id=guild_id, start=datetime(2000, 1, 1, tzinfo=at.tzinfo), end=at)


def creators_money(
    *, guild_id: int, at: datetime, creator_ids: list[int] | None = None, result: Earnings | None = None
) -> list[CreatorMoneyRow]:
    """``creator_money`` for every creator with any money (or those of ``creator_ids``), in a constant
    number of queries: one ``earnings`` run over all time (or ``result``, that run already made),
    paid and approved statements, bonus payments, and the names of creators who only appear there.
    Ordered by username."""
    result = result or all_time_earnings(guild_id=guild_id, at=at)
    wanted = None if creator_ids is None else set(creator_ids)
    people: dict[int, tuple[str, str]] = {}
    sums: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(
        lambda: {k: ZERO for k in ("earned", "held", "paid", "bonuses", "approved")}
    )
    for c in result.creators:
        if wanted is None or c.creator_id in wanted:
            people[c.creator_id] = (c.discord_user_id, c.username)
            for currency, amount in c.amount.items():
                sums[(c.creator_id, currency)]["earned"] += amount
            for currency, amount in c.held_amount.items():
                sums[(c.creator_id, currency)]["held"] += amount
    for b in result.bonuses:
        if wanted is None or b.creator_id in wanted:
            people[b.creator_id] = (b.discord_user_id, b.username)
            sums[(b.creator_id, b.currency)]["bonuses"] += b.amount
    statements = Statement.objects.for_guild(guild_id).filter(
        status__in=(Statement.Status.PAID, Statement.Status.APPROVED)
    )
    bonus_payments = LedgerEntry.objects.for_guild(guild_id).filter(
        kind=LedgerEntry.Kind.PAYMENT, bonus_award__isnull=False
    )
    if wanted is not None:
        statements = statements.filter(creator_id__in=wanted)
        bonus_payments = bonus_payments.filter(creator_id__in=wanted)
    unnamed: set[int] = set()
    for creator_id, status, currency, amount in statements.values_list("creator_id", "status", "currency", "amount"):
        sums[(creator_id, currency)]["paid" if status == Statement.Status.PAID else "approved"] += amount
        unnamed.add(creator_id)
    for creator_id, currency, amount in bonus_payments.values_list("creator_id", "currency", "amount"):
        sums[(creator_id, currency)]["paid"] -= amount  # payments are negative entries
        unnamed.add(creator_id)
    unnamed -= set(people)
    if unnamed:
        for pk, discord_id, username in (
            Creator.objects.for_guild(guild_id).filter(pk__in=unnamed).values_list("pk", "discord_user_id", "username")
        ):
            people[pk] = (discord_id, username)
    by_creator: dict[int, list[CreatorMoney]] = defaultdict(list)
    for (creator_id, currency), v in sorted(sums.items()):
        by_creator[creator_id].append(CreatorMoney(currency, **{k: to_cents(x) for k, x in v.items()}))
    rows = [CreatorMoneyRow(pk, *people[pk], by_creator[pk]) for pk in by_creator if pk in people]
    return sorted(rows, key=lambda r: (r.username.lower(), r.creator_id))


def _campaigns(guild_id: int, campaign_id: int | None):
    qs = Campaign.objects.for_guild(guild_id)
    return qs.filter(pk=campaign_id) if campaign_id is not None else qs


def _views_before(instant: datetime) -> Case:
    """Views as of ``instant`` clamped to the counting window: the leaderboard's read
    (metrics.selectors.views_at_window_end — whole days from the daily rollups, the partial day
    from the snapshots); NULL when the post had no measurement with views by then."""
    return views_at_window_end(instant)


def _post_rows(guild_id: int, campaign_ids: list[int], start: datetime, end: datetime) -> list[dict]:
    first = VideoMetrics.objects.filter(post=OuterRef("pk"), views__isnull=False).order_by("captured_at", "pk")
    finals = PostFinalization.objects.filter(post=OuterRef("pk"), reopened_at__isnull=True).order_by("-pk")
    return list(
        Post.objects.for_guild(guild_id)
        .filter(campaign_id__in=campaign_ids)
        .annotate(
            first_views=Subquery(first.values("views")[:1]),
            views_start=_views_before(start),
            views_end=_views_before(end),
            final_amount=Subquery(finals.values("amount")[:1]),
            final_views=Subquery(finals.values("views_payable")[:1]),
        )
        .order_by("submitted_at", "pk")
        .values(
            "id",
            "campaign_id",
            "creator_id",
            "creator__discord_user_id",
            "creator__username",
            "platform",
            "canonical_url",
            "status",
            "status_reason",
            "counting_ends_at",
            "metrics_updated_at",
            "first_views",
            "views_start",
            "views_end",
            "final_amount",
            "final_views",
        )
    )


def _with_gone_at(guild_id: int, rows: list[dict]) -> list[dict]:
    """Each row with ``gone_at``: when an unavailable post was found gone (its latest move to
    unavailable), else None. One query, and only when some post is unavailable."""
    gone = [r["id"] for r in rows if r["status"] == Post.Status.UNAVAILABLE]
    found: dict[int, datetime] = {}
    if gone:
        moves = PostStatusChange.objects.for_guild(guild_id).filter(post_id__in=gone, to_status=Post.Status.UNAVAILABLE)
        for post_id, at in moves.order_by("post_id", "created_at", "pk").values_list("post_id", "created_at"):
            found[post_id] = at  # the latest move wins
    for r in rows:
        r["gone_at"] = found.get(r["id"])
    return rows


def _earns_nothing(row: dict, campaign: Campaign) -> bool:
    if row["status"] == Post.Status.REJECTED:
        return True
    if campaign.eligible_platforms and row["platform"] not in campaign.eligible_platforms:
        return True
    if row["status"] != Post.Status.UNAVAILABLE or row["counting_ends_at"] is None:
        return False
    gone_at = row.get("gone_at") or row["metrics_updated_at"]
    gone_early = gone_at is None or gone_at < row["counting_ends_at"]
    return gone_early and campaign.on_disappear == Campaign.OnDisappear.FORFEIT


def _payable_views(row: dict, campaign: Campaign, side: str) -> int:
    views = row[f"views_{side}"]
    if views is None:
        return 0
    baseline = (row["first_views"] or 0) if campaign.baseline == Campaign.Baseline.GAINED else 0
    return max(0, views - baseline)


def _post_amount(views: int, row: dict, campaign: Campaign) -> Decimal:
    if views < campaign.min_views or views == 0:
        return ZERO
    amount = to_cents(Decimal(views) * campaign.rate_for(row["platform"]) / 1000)
    return min(amount, campaign.post_cap) if campaign.post_cap is not None else amount


def _cumulative(row: dict, campaign: Campaign, side: str, instant: datetime) -> tuple[int, Decimal]:
    if _earns_nothing(row, campaign):
        return 0, ZERO
    frozen = row["final_amount"] is not None and (row["counting_ends_at"] or instant) <= instant
    if frozen:
        return row["final_views"], row["final_amount"]
    views = _payable_views(row, campaign, side)
    return views, _post_amount(views, row, campaign)


def _allocate(rows: list[dict], campaigns: dict[int, Campaign], side: str, instant: datetime) -> dict[int, _Cumulative]:
    """Creator caps then budgets, in submission order (held posts last within a creator's cap)."""
    raw = {r["id"]: _cumulative(r, campaigns[r["campaign_id"]], side, instant) for r in rows}
    cap_left: dict[tuple[int, int], Decimal] = {}
    shares: dict[int, Decimal] = {}
    held_last = sorted(rows, key=lambda r: r["status"] == Post.Status.FLAGGED)  # stable: keeps submission order
    for r in held_last:
        campaign = campaigns[r["campaign_id"]]
        amount = raw[r["id"]][1]
        if campaign.creator_cap is None:
            shares[r["id"]] = amount
            continue
        key = (r["campaign_id"], r["creator_id"])
        left = cap_left.get(key, campaign.creator_cap)
        shares[r["id"]] = min(amount, left)
        cap_left[key] = left - shares[r["id"]]
    budget_left = {pk: c.total_budget for pk, c in campaigns.items()}
    result = {}
    for r in rows:
        share = shares[r["id"]]
        left = budget_left[r["campaign_id"]]
        final = share if left is None else min(share, left)
        if left is not None:
            budget_left[r["campaign_id"]] = left - final
        result[r["id"]] = _Cumulative(raw[r["id"]][0], raw[r["id"]][1], share, final)
    return result


def _post_earning(row: dict, campaign: Campaign, start: _Cumulative, end: _Cumulative) -> PostEarning:
    budget_cut = (end.share - end.final) - (start.share - start.final)
    return PostEarning(
        post_id=row["id"],
        campaign_id=campaign.pk,
        creator_id=row["creator_id"],
        platform=row["platform"],
        url=row["canonical_url"],
        status=row["status"],
        currency=campaign.currency,
        views_payable=max(0, end.views - start.views),
        min_views=campaign.min_views,
        rate_per_1000=campaign.rate_for(row["platform"]),
        post_cap=campaign.post_cap,
        amount=(end.amount - start.amount) - budget_cut,
        held=row["status"] == Post.Status.FLAGGED,
        hold_reason=row["status_reason"] if row["status"] == Post.Status.FLAGGED else "",
        budget_cut=budget_cut,
        creator_cap_cut=(end.amount - end.share) - (start.amount - start.share),
    )


def _add_post(creator: CreatorEarning, post: PostEarning) -> None:
    creator.posts.append(post)
    bucket = creator.held_amount if post.held else creator.amount
    other = creator.amount if post.held else creator.held_amount
    bucket[post.currency] = bucket.get(post.currency, ZERO) + post.amount - post.creator_cap_cut
    other.setdefault(post.currency, ZERO)
    creator.capped = creator.capped or post.creator_cap_cut != ZERO


def _sum_dicts(dicts) -> dict[str, Decimal]:
    total: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for d in dicts:
        for currency, amount in d.items():
            total[currency] += amount
    return dict(sorted(total.items()))


def _money(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {currency: str(to_cents(amount)) for currency, amount in sorted(amounts.items())}


def earnings_document(result: Earnings) -> dict:
    """The JSON contract of ``manage.py earnings --json`` and the API (issue 16 §7): money as strings."""
    return {
        "guild_id": str(result.guild_id),
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "creators": [
            {
                "creator_id": c.creator_id,
                "discord_user_id": c.discord_user_id,
                "username": c.username,
                "capped": c.capped,
                "amount": _money(c.amount),
                "held_amount": _money(c.held_amount),
                "posts": [_post_document(p) for p in c.posts],
            }
            for c in result.creators
        ],
        "total": _money(result.total),
        "held_total": _money(result.held_total),
        # Extra keys (documented): weekly bonuses booked in the ledger, never inside "total".
        "bonuses": [
            {
                "ledger_entry_id": b.entry_id,
                "creator_id": b.creator_id,
                "discord_user_id": b.discord_user_id,
                "username": b.username,
                "week_start": b.week_start.isoformat(),
                "rule": b.rule,
                "currency": b.currency,
                "amount": str(to_cents(b.amount)),
            }
            for b in result.bonuses
        ],
        "bonus_total": _money(result.bonus_total),
    }


def _post_document(p: PostEarning) -> dict:
    return {
        "post_id": p.post_id,
        "campaign_id": p.campaign_id,
        "status": p.status,
        "currency": p.currency,
        "views_payable": p.views_payable,
        "min_views": p.min_views,
        "rate_per_1000": str(p.rate_per_1000),
        "post_cap": None if p.post_cap is None else str(p.post_cap),
        "amount": str(to_cents(p.amount)),
        "held": p.held,
        "hold_reason": p.hold_reason,
    }
