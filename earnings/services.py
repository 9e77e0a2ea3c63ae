"""Writes about money: finalizing posts, reopening them, and statements through their states.

Every change is audited (guilds.audit) and every movement of money is a new LedgerEntry — nothing is
edited in place. State changes are conditional updates (``UPDATE … WHERE status = <expected>``), so
two admins approving or paying the same statement at once change it once and pay it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.tenancy import guild_scope
from earnings.models import LedgerEntry, PostFinalization, Statement
from earnings.selectors import ZERO, Burn, campaign_burn, earnings, frozen_amounts
from guilds.audit import record_audit
from guilds.bot_events import queue_bot_event
from guilds.models import Creator
from guilds.notifications import notify
from metrics.models import BonusAward
from metrics.reports import active_guild_ids
from tracking.lifecycle import transition_post
from tracking.models import Campaign, Post

BURN_ALERTS = (50, 75, 90, 100)  # percent of the budget used; each alert is sent once per campaign
FINALIZABLE = (Post.Status.SUBMITTED, Post.Status.TRACKING, Post.Status.UNAVAILABLE)


class MoneyRefused(Exception):
    """A money action that cannot be done, with a message an admin can act on."""

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.field, self.status = code, message, field, status


def finalize_due_posts(*, guild_id: int, now: datetime | None = None) -> list[PostFinalization]:
    """Freeze every post whose counting and validation windows have passed and that is not held
    (flagged) or rejected. Idempotent: a finalized post is not finalized again. A post finalized before
    and reopened gets a new row, and any change in its amount becomes a ledger adjustment."""
    now = now or timezone.now()
    done = []
    for campaign in Campaign.objects.for_guild(guild_id):
        due = Post.objects.for_guild(guild_id).filter(
            campaign=campaign,
            status__in=FINALIZABLE,
            counting_ends_at__lte=now - timedelta(days=campaign.validation_window_days),
        )
        ids = list(due.values_list("pk", flat=True))
        if ids:
            amounts = frozen_amounts(guild_id=guild_id, campaign=campaign, post_ids=ids, at=now)
            done += [_finalize(guild_id, campaign, pk, *amounts[pk], now) for pk in ids]
    return done


@transaction.atomic
def _finalize(guild_id: int, campaign: Campaign, post_id: int, views: int, amount: Decimal, now) -> PostFinalization:
    post = Post.objects.for_guild(guild_id).select_for_update().select_related("creator").get(pk=post_id)
    previous = PostFinalization.objects.for_guild(guild_id).filter(post=post).order_by("-pk").first()
    final = PostFinalization.objects.create(
        guild_id=guild_id,
        post=post,
        campaign=campaign,
        views_payable=views,
        amount=amount,
        currency=campaign.currency,
        finalized_at=now,
    )
    transition_post(post=post, to_status=Post.Status.FINALIZED, reason="counting and validation windows passed")
    if previous is not None and previous.amount != amount:
        LedgerEntry.objects.create(
            guild_id=guild_id,
            creator_id=post.creator_id,
            campaign=campaign,
            post=post,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            amount=amount - previous.amount,
            currency=campaign.currency,
            reason=f"refinalized after reopen: {previous.reopen_reason}"[:500],
            actor="system",
        )
    return final


@transaction.atomic
def reopen_post(*, guild_id: int, post_id: int, reason: str, actor: str, request=None) -> Post:
    """Unfreeze a finalized post for review: its finalization is stamped reopened (who, when, why), the
    post is held (flagged) until a reviewer releases it, and the next finalization records the change
    in money as a ledger adjustment. Raises MoneyRefused without a reason or for a post not finalized."""
    reason = (reason or "").strip()
    if not reason:
        raise MoneyRefused("reason_required", "Say why the post is reopened.", field="reason")
    post = Post.objects.for_guild(guild_id).select_for_update().filter(pk=post_id).first()
    if post is None:
        raise MoneyRefused("not_found", "No such post.", status=404)
    now = timezone.now()
    reopened = PostFinalization.objects.for_guild(guild_id).filter(post=post, reopened_at__isnull=True)
    if post.status != Post.Status.FINALIZED or not reopened.update(
        reopened_at=now, reopened_by=actor[:120], reopen_reason=reason[:500]
    ):
        raise MoneyRefused("not_finalized", "Only a finalized post can be reopened.", status=409)
    transition_post(post=post, to_status=Post.Status.FLAGGED, reason=f"reopened: {reason}", actor=actor)
    record_audit(
        guild_id=guild_id,
        actor=actor,
        action="post.reopen",
        target_type="post",
        target_id=post.pk,
        after={"reason": reason},
        request=request,
    )
    return post


def create_statements(
    *, guild_id: int, campaign: Campaign, start: datetime, end: datetime, actor: str
) -> list[Statement]:
    """A pending statement per creator with money in the campaign for [start, end), each with its
    earning entry in the ledger. Held money is noted, not owed. A creator who already has a live
    statement for exactly this period is skipped (so rerunning is harmless).

    Periods never overlap: when a creator with money has a live (not voided) statement of this
    campaign covering any part of [start, end) other than exactly it, nothing is created and
    MoneyRefused (409) names the statement — two statements over the same days would pay them twice.
    Statement creation is serialized per campaign (its row is locked), so concurrent requests see each
    other's statements; on PostgreSQL an exclusion constraint (migration earnings 0004) refuses an
    overlap too, whatever writes it."""
    result = earnings(guild_id=guild_id, start=start, end=end, campaign_id=campaign.pk)
    owed = []
    for creator in result.creators:
        amount = creator.amount.get(campaign.currency, ZERO)
        held = creator.held_amount.get(campaign.currency, ZERO)
        if amount > ZERO or held > ZERO:
            owed.append((creator, amount, held))
    try:
        with transaction.atomic():
            Campaign.objects.for_guild(guild_id).select_for_update().filter(pk=campaign.pk).first()
            existing = _live_statements_overlapping(guild_id, campaign, [c.creator_id for c, _, _ in owed], start, end)
            for creator, _, _ in owed:
                for other in existing.get(creator.creator_id, []):
                    if (other.period_start, other.period_end) != (start, end):
                        raise _overlap(creator.username, other)
            return [
                _create_statement(guild_id, campaign, creator.creator_id, start, end, amount, held, actor)
                for creator, amount, held in owed
                if not existing.get(creator.creator_id)
            ]
    except IntegrityError:  # the database's own guard (a writer that did not take the lock)
        raise MoneyRefused(
            "period_overlaps",
            "A statement of this campaign already covers part of this period for one of these creators; "
            "void it first or choose a period that starts where it ends.",
            status=409,
        ) from None


def _live_statements_overlapping(guild_id, campaign, creator_ids, start, end) -> dict[int, list[Statement]]:
    found: dict[int, list[Statement]] = {}
    rows = (
        Statement.objects.for_guild(guild_id)
        .filter(campaign=campaign, creator_id__in=creator_ids, period_start__lt=end, period_end__gt=start)
        .exclude(status=Statement.Status.VOIDED)
        .order_by("period_start", "pk")
    )
    for statement in rows:
        found.setdefault(statement.creator_id, []).append(statement)
    return found


def _overlap(username: str, other: Statement) -> MoneyRefused:
    return MoneyRefused(
        "period_overlaps",
        f"{username} already has statement {other.pk} ({other.get_status_display().lower()}) for "
        f"{other.period_start:%Y-%m-%d %H:%M} to {other.period_end:%Y-%m-%d %H:%M} UTC in this campaign, which "
        "overlaps this period: the same days would be paid twice. Void it first, or choose a period that "
        "starts where it ends.",
        field="start",
        status=409,
    )


def _create_statement(guild_id, campaign, creator_id, start, end, amount, held, actor) -> Statement:
    statement = Statement.objects.create(
        guild_id=guild_id,
        campaign=campaign,
        creator_id=creator_id,
        period_start=start,
        period_end=end,
        currency=campaign.currency,
        amount=amount,
        held_amount=held,
        created_by=actor[:120],
    )
    _entry(statement, LedgerEntry.Kind.EARNING, amount, f"{start:%Y-%m-%d} to {end:%Y-%m-%d}", actor)
    record_audit(
        guild_id=guild_id,
        actor=actor,
        action="statement.create",
        target_type="statement",
        target_id=statement.pk,
        after={"creator": creator_id, "amount": str(amount), "currency": campaign.currency},
    )
    return statement


def approve_statement(*, guild_id: int, statement_id: int, actor: str, request=None) -> Statement:
    """pending → approved. Exactly one of several concurrent approvals wins; the others are refused."""
    return _move(
        guild_id,
        statement_id,
        Statement.Status.PENDING,
        {"status": Statement.Status.APPROVED, "approved_at": timezone.now(), "approved_by": actor[:120]},
        actor=actor,
        request=request,
    )


BULK_APPROVE_LIMIT = 100  # statements per bulk approval (the review queue's bulk limit is the same)


def approve_statements(*, guild_id: int, statement_ids: list[int], actor: str, request=None) -> list[Statement]:
    """Approve several pending statements at once: all of them or none. Each is approved, audited and
    told to its creator exactly as ``approve_statement`` does. The statements are locked (in id
    order) before any is checked, so two bulk approvals that share a statement run one after the
    other and the second is refused: nothing is approved twice.

    Raises MoneyRefused, changing nothing: 400 ``no_statements`` / ``too_many``; 404 ``not_found``
    when an id is not a statement of this server (another server's id included); 409 ``wrong_state``
    when one is not pending. The message names every statement that stops it, and why."""
    unique = list(dict.fromkeys(statement_ids))
    if not unique:
        raise MoneyRefused("no_statements", "Choose at least one pending statement.", field="ids")
    if len(unique) > BULK_APPROVE_LIMIT:
        raise MoneyRefused("too_many", f"At most {BULK_APPROVE_LIMIT} statements at once; choose fewer.", field="ids")
    with transaction.atomic():
        found = {
            s.pk: s
            for s in Statement.objects.for_guild(guild_id).select_for_update().filter(pk__in=unique).order_by("pk")
        }
        missing = [pk for pk in unique if pk not in found]
        if missing:
            names = ", ".join(str(pk) for pk in missing)
            raise MoneyRefused(
                "not_found",
                f"Nothing was approved: no statement {names} in this server.",
                field="ids",
                status=404,
            )
        settled = [found[pk] for pk in unique if found[pk].status != Statement.Status.PENDING]
        if settled:
            why = "; ".join(f"statement {s.pk} is {s.get_status_display().lower()}" for s in settled)
            raise MoneyRefused(
                "wrong_state",
                f"Nothing was approved: {why} (only pending statements can be approved).",
                field="ids",
                status=409,
            )
        return [approve_statement(guild_id=guild_id, statement_id=pk, actor=actor, request=request) for pk in unique]


def mark_statement_paid(*, guild_id: int, statement_id: int, reference: str, actor: str, request=None) -> Statement:
    """approved → paid with the payment's reference, and one payment entry in the ledger — once, even
    when two admins mark it paid at the same moment (the second is refused)."""
    reference = (reference or "").strip()
    if not reference:
        raise MoneyRefused("reference_required", "Give the payment reference (e.g. the PayPal transaction id).",
                           field="reference")  # fmt: skip
    changes = {"status": Statement.Status.PAID, "paid_at": timezone.now(), "paid_by": actor[:120]}
    return _move(
        guild_id,
        statement_id,
        Statement.Status.APPROVED,
        {**changes, "payment_reference": reference[:200]},
        actor=actor,
        request=request,
        entry=(LedgerEntry.Kind.PAYMENT, -1, f"paid, reference {reference[:150]}"),
    )


def void_statement(*, guild_id: int, statement_id: int, reason: str, actor: str, request=None) -> Statement:
    """pending or approved → voided with a reason; the ledger gets the reversing entry. A paid statement
    cannot be voided (record an adjustment instead)."""
    reason = (reason or "").strip()
    if not reason:
        raise MoneyRefused("reason_required", "Say why the statement is voided.", field="reason")
    changes = {"status": Statement.Status.VOIDED, "voided_at": timezone.now(), "voided_by": actor[:120]}
    for expected in (Statement.Status.PENDING, Statement.Status.APPROVED):
        try:
            return _move(
                guild_id,
                statement_id,
                expected,
                {**changes, "void_reason": reason[:500]},
                actor=actor,
                request=request,
                entry=(LedgerEntry.Kind.VOID, -1, f"voided: {reason}"),
            )
        except MoneyRefused as refused:
            if refused.code != "wrong_state":
                raise
    raise _wrong_state(Statement.objects.for_guild(guild_id).get(pk=statement_id), "voided")


@transaction.atomic
def _move(guild_id, statement_id, expected, changes, *, actor, request, entry=None) -> Statement:
    statements = Statement.objects.for_guild(guild_id)
    if not statements.filter(pk=statement_id, status=expected).update(**changes):
        current = statements.filter(pk=statement_id).first()
        if current is None:
            raise MoneyRefused("not_found", "No such statement.", status=404)
        raise _wrong_state(current, changes["status"])
    statement = statements.select_related("creator").get(pk=statement_id)
    if changes["status"] in (Statement.Status.APPROVED, Statement.Status.PAID):
        _tell_creator(statement)
    if entry is not None:
        kind, sign, reason = entry
        _entry(statement, kind, sign * statement.amount, reason, actor)
    record_audit(
        guild_id=guild_id,
        actor=actor,
        action=f"statement.{changes['status']}",
        target_type="statement",
        target_id=statement.pk,
        before={"status": expected},
        after={k: str(v) for k, v in changes.items()},
        request=request,
    )
    return statement


def _tell_creator(statement: Statement) -> None:
    """The bot tells the creator privately that their statement was approved or paid (bot outbox)."""
    queue_bot_event(
        event_type=f"statement.{statement.status}",
        payload={
            "statement_id": statement.pk,
            "discord_user_id": statement.creator.discord_user_id,
            "campaign_id": statement.campaign_id,
            "amount": str(statement.amount),
            "currency": statement.currency,
            "payment_reference": statement.payment_reference,
        },
        guild_id=statement.guild_id,
    )


def _wrong_state(statement: Statement, wanted: str) -> MoneyRefused:
    return MoneyRefused(
        "wrong_state",
        f"This statement is {statement.get_status_display().lower()}; it cannot be {wanted} now.",
        status=409,
    )


def _entry(statement: Statement, kind: str, amount: Decimal, reason: str, actor: str) -> LedgerEntry:
    return LedgerEntry.objects.create(
        guild_id=statement.guild_id,
        creator_id=statement.creator_id,
        campaign_id=statement.campaign_id,
        statement=statement,
        kind=kind,
        amount=amount,
        currency=statement.currency,
        reason=reason[:500],
        actor=actor[:120],
    )


def creator_balance(*, guild_id: int, creator: Creator) -> dict[str, Decimal]:
    """What the ledger says is owed to a creator, per currency (earnings less payments and voids)."""
    totals: dict[str, Decimal] = {}
    for currency, amount in (
        LedgerEntry.objects.for_guild(guild_id).filter(creator=creator).values_list("currency", "amount")
    ):
        totals[currency] = totals.get(currency, ZERO) + amount
    return totals


def check_budgets(*, guild_id: int, now: datetime | None = None) -> list[Burn]:
    """Alert the logs channel once per campaign when it uses 50, 75 and 90 % of its budget, and at
    100 % pause it (no more submissions; the budget already stops accrual) with one message. The
    notification outbox's event key makes each alert once-only, whatever the number of runs."""
    now = now or timezone.now()
    burns = []
    for campaign in Campaign.objects.for_guild(guild_id).filter(
        status=Campaign.Status.ACTIVE, total_budget__isnull=False
    ):
        burn = campaign_burn(guild_id=guild_id, campaign=campaign, at=now)
        for threshold in (t for t in BURN_ALERTS if burn.percent_used >= t):
            _alert(campaign, burn, threshold)
        burns.append(burn)
    return burns


@transaction.atomic
def _alert(campaign: Campaign, burn: Burn, threshold: int) -> None:
    key = f"campaign-budget:{campaign.pk}:{threshold}"
    money = f"{burn.used} of {burn.budget} {campaign.currency}"
    if threshold < 100:
        title = f"Campaign {campaign.name} has used {threshold} % of its budget"
        body = f"{money} used ({burn.held} held for review); {burn.remaining} left."
        notify(guild_id=campaign.guild_id, kind="campaign_budget", event_key=key, title=title, body=body)
        return
    paused = Campaign.objects.for_guild(campaign.guild_id).filter(pk=campaign.pk, status=Campaign.Status.ACTIVE)
    if paused.update(status=Campaign.Status.PAUSED):
        title = f"Campaign {campaign.name} spent its budget and is paused"
        body = f"{money} used. It takes no new submissions; raise the budget and set it active to resume."
        notify(guild_id=campaign.guild_id, kind="campaign_budget", event_key=key, title=title, body=body)
        record_audit(
            guild_id=campaign.guild_id,
            actor="system",
            action="campaign.pause",
            target_type="campaign",
            target_id=campaign.pk,
            before={"status": "active"},
            after={"status": "paused", "reason": "budget spent"},
        )


def book_bonuses(*, guild_id: int) -> list[LedgerEntry]:
    """Book every weekly bonus award of the guild not booked yet as a ``bonus`` ledger entry: the
    award's amount in the award's currency (its rule's when awarded), owed to its creator, with no
    campaign (a bonus is the guild's, not a campaign's). Idempotent and safe to run concurrently: one
    entry per award (a unique constraint), so a second run or a racing worker books nothing twice."""
    awards = (
        BonusAward.objects.for_guild(guild_id)
        .filter(ledger_entries__isnull=True)
        .select_related("rule")
        .order_by("week_start", "pk")
    )
    booked = []
    for award in awards:
        try:
            with transaction.atomic():
                booked.append(
                    LedgerEntry.objects.create(
                        guild_id=guild_id,
                        creator_id=award.creator_id,
                        bonus_award=award,
                        kind=LedgerEntry.Kind.BONUS,
                        amount=award.amount,
                        currency=award.currency,
                        reason=f"{award.rule.name}, week of {award.week_start:%Y-%m-%d}"[:500],
                        actor="system",
                    )
                )
        except IntegrityError:  # a concurrent run booked it first
            continue
    return booked


def pay_bonus(*, guild_id: int, entry_id: int, reference: str, actor: str, request=None) -> LedgerEntry:
    """Record that a booked weekly bonus was paid: one ``payment`` entry (the bonus amount, negative)
    for the same award, with the payment's reference; audited as bonus.paid. Once only, even when two
    admins do it at the same moment (a unique constraint per award and kind): the second is refused."""
    reference = (reference or "").strip()
    if not reference:
        raise MoneyRefused("reference_required", "Give the payment reference (e.g. the PayPal transaction id).",
                           field="reference")  # fmt: skip
    bonus = (
        LedgerEntry.objects.for_guild(guild_id)
        .filter(pk=entry_id, kind=LedgerEntry.Kind.BONUS, bonus_award__isnull=False)
        .select_related("creator", "bonus_award__rule")
        .first()
    )
    if bonus is None:
        raise MoneyRefused("not_found", "No such weekly bonus in this server.", status=404)
    already = MoneyRefused("wrong_state", "This bonus is paid already.", status=409)
    try:
        with transaction.atomic():
            payment = LedgerEntry.objects.create(
                guild_id=guild_id,
                creator_id=bonus.creator_id,
                bonus_award=bonus.bonus_award,
                kind=LedgerEntry.Kind.PAYMENT,
                amount=-bonus.amount,
                currency=bonus.currency,
                reason=f"bonus paid, reference {reference[:150]}",
                actor=actor[:120],
            )
            _tell_bonus_paid(bonus, reference)
            record_audit(
                guild_id=guild_id,
                actor=actor,
                action="bonus.paid",
                target_type="ledger_entry",
                target_id=bonus.pk,
                after={"amount": str(bonus.amount), "currency": bonus.currency, "reference": reference[:200]},
                request=request,
            )
    except IntegrityError:
        raise already from None
    return payment


def _tell_bonus_paid(bonus: LedgerEntry, reference: str) -> None:
    """The bot tells the creator privately that their weekly bonus was paid (bot outbox, in the
    payment's transaction: a refused second payment tells nobody)."""
    queue_bot_event(
        event_type="bonus.paid",
        payload={
            "ledger_entry_id": bonus.pk,
            "discord_user_id": bonus.creator.discord_user_id,
            "rule": bonus.bonus_award.rule.name,
            "week_start": bonus.bonus_award.week_start.isoformat(),
            "amount": str(bonus.amount),
            "currency": bonus.currency,
            "payment_reference": reference[:200],
        },
        guild_id=bonus.guild_id,
    )


def book_guilds_bonuses(guild_ids) -> int:
    """``book_bonuses`` for each guild, each in its own scope (right after awarding a week)."""
    booked = 0
    for gid in guild_ids:
        with guild_scope(gid):
            booked += len(book_bonuses(guild_id=gid))
    return booked


def settle_money(*, guild_id: int | None = None, now: datetime | None = None) -> dict[str, int]:
    """The periodic money job for every active guild (or one): finalize what is due, book weekly
    bonuses not booked yet, then check budgets. Idempotent: finalized posts are not finalized again,
    each bonus is booked once and each alert is sent once."""
    now = now or timezone.now()
    finalized = alerts_checked = bonuses = 0
    for gid in active_guild_ids(guild_id):
        with guild_scope(gid):
            finalized += len(finalize_due_posts(guild_id=gid, now=now))
            bonuses += len(book_bonuses(guild_id=gid))
            alerts_checked += len(check_budgets(guild_id=gid, now=now))
    return {"finalized": finalized, "bonuses_booked": bonuses, "campaigns_checked": alerts_checked}
