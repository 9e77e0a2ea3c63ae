"""Celery tasks of collection, reports and bonuses: they take ids and call one service.

Idempotent: processing a run that is no longer ``initiated`` does nothing; a cycle claims its posts
compare-and-set; reports and bonuses are written once per guild and period. Webhook processing keeps
its retry state in the delivery row (metrics.runs), not in the broker.
"""

from __future__ import annotations

import structlog
from celery import shared_task

from earnings.services import book_guilds_bonuses
from integrations.discord.notifier import send_pending_notifications
from metrics import bonuses, captions, collection, reports, runs

log = structlog.get_logger(__name__)


@shared_task(name="metrics.tasks.process_webhook_delivery", acks_late=True, reject_on_worker_lost=True)
def process_webhook_delivery(delivery_id: int) -> str:
    """Process one accepted Apify webhook delivery (queued by the webhook after commit). Retries are
    the delivery's own (next_attempt_at, picked up by the sweeper), so a lost task loses nothing."""
    return runs.process_delivery(delivery_id=delivery_id)


@shared_task(name="metrics.tasks.process_due_deliveries", acks_late=True, ignore_result=True)
def process_due_deliveries() -> dict[str, int]:
    """The sweeper: deliveries accepted and not processed (a dead worker's, a backed-off retry's)."""
    summary = runs.process_due_deliveries()
    return {"done": summary.done, "retrying": summary.retrying, "failed": summary.failed}


@shared_task(name="metrics.tasks.reconcile_runs", acks_late=True, ignore_result=True)
def reconcile_runs() -> dict[str, int]:
    """Starts whose outcome is unknown, and runs that never reported back: ask Apify, act on the answer."""
    s = runs.reconcile_runs()
    return {
        "adopted": s.adopted,
        "refunded": s.refunded,
        "polled": s.polled,
        "extended": s.extended,
        "failed": s.failed,
    }


@shared_task(name="metrics.tasks.plan_refreshes", acks_late=True, ignore_result=True)
def plan_refreshes(guild_id: int | None = None) -> dict:
    """One refresh-planning cycle (all active guilds, or one). Safe to run twice or concurrently:
    posts are claimed compare-and-set before any run starts (metrics.collection.run_refresh_cycle)."""
    report = collection.run_refresh_cycle(guild_id=guild_id)
    return {"runs": report.runs_started, "youtube_calls": report.youtube_calls, "posts": report.posts_sent}


@shared_task(name="metrics.tasks.send_daily_reports", acks_late=True)
def send_daily_reports(guild_id: int | None = None) -> dict[str, int]:
    """Queue the daily report of every guild whose local report hour has come, then send them."""
    outcomes = reports.queue_daily_reports(guild_id=guild_id)
    queued = sum(1 for o in outcomes if o.status == "queued")
    if queued:  # send now rather than at the notifier's next run
        send_pending_notifications(guild_id=guild_id)
    return {"queued": queued}


@shared_task(name="metrics.tasks.award_weekly_bonuses", acks_late=True)
def award_weekly_bonuses(guild_id: int | None = None) -> dict[str, int]:
    """Award and announce every guild's bonuses for its last complete week, and book the new awards
    in the ledger at once (settle_money books any left over)."""
    outcomes = bonuses.award_weekly_bonuses(guild_id=guild_id)
    created, announced = sum(o.created for o in outcomes), sum(o.announced for o in outcomes)
    booked = book_guilds_bonuses([o.guild_id for o in outcomes if o.created])
    if announced:
        send_pending_notifications(guild_id=guild_id)
    return {"created": created, "announced": announced, "booked": booked}


@shared_task(name="metrics.tasks.check_captions", acks_late=True, ignore_result=True)
def check_captions(guild_id: int | None = None) -> dict[str, int]:
    """Check the scraped captions not checked yet (a net under the checks that follow each ingest)."""
    summary = captions.check_due_captions(guild_id=guild_id)
    return {"checked": summary.checked, "failed": summary.failed, "openai_calls": summary.openai_calls}
