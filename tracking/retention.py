"""Retention: what is deleted, and when. Snapshots, posts, the audit log and status history are the
product and stay; the rows that only record traffic go once they are of no more use.

| table | kept for | only rows that are |
| --- | --- | --- |
| webhook deliveries | RETENTION_WEBHOOK_DELIVERIES_DAYS (30) | done or failed (never work to do) |
| Discord notifications | RETENTION_NOTIFICATIONS_DAYS (90) | sent, failed or dropped (never pending) |
| bot callbacks | RETENTION_BOT_CALLBACKS_DAYS (30) | delivered, failed or expired |
| security events | RETENTION_SECURITY_EVENTS_DAYS (180) | any |
| dashboard sessions | RETENTION_SESSIONS_DAYS (30) after they expired or were revoked | ended |
| Django sessions (admin) | until they expire | expired |
| failed-login records (axes) | RETENTION_LOGIN_RECORDS_DAYS (90) | any |
| guild change notes (core.models.GuildChange) | 1 day (a kept list page lives 60 s) | any |

Webhook deliveries are kept well past WEBHOOK_DISPATCH_TTL_SECONDS, so a replayed dispatch still
finds its row (and an old one finds its run expired). Celery keeps no task results
(CELERY_TASK_IGNORE_RESULT), so there are none to purge. ``manage.py purge`` runs this; beat and
``manage.py track`` run it daily.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.models import GuildChange
from core.tenancy import rls_bypass
from dashboard_auth.models import DashboardSession, SecurityEvent
from guilds.models import BotCallback, GuildNotification
from integrations.models import WebhookDelivery

log = structlog.get_logger(__name__)
BATCH = 5000  # rows per DELETE: long deletes would hold locks ingestion and the API need


def _older(days_setting: str, field: str, now: datetime) -> Q:
    return Q(**{f"{field}__lt": now - timedelta(days=getattr(settings, days_setting))})


RULES: dict[str, Callable[[datetime], QuerySet]] = {
    "webhook deliveries": lambda now: WebhookDelivery.objects.filter(
        _older("RETENTION_WEBHOOK_DELIVERIES_DAYS", "received_at", now),
        state__in=(WebhookDelivery.State.DONE, WebhookDelivery.State.FAILED),
    ),
    "Discord notifications": lambda now: GuildNotification.objects.filter(
        _older("RETENTION_NOTIFICATIONS_DAYS", "created_at", now),
        status__in=(GuildNotification.Status.SENT, GuildNotification.Status.FAILED, GuildNotification.Status.DROPPED),
    ),
    "bot callbacks": lambda now: BotCallback.objects.filter(
        _older("RETENTION_BOT_CALLBACKS_DAYS", "created_at", now),
        status__in=(BotCallback.Status.DELIVERED, BotCallback.Status.FAILED, BotCallback.Status.EXPIRED),
    ),
    "security events": lambda now: SecurityEvent.objects.filter(
        _older("RETENTION_SECURITY_EVENTS_DAYS", "created_at", now)
    ),
    "dashboard sessions": lambda now: DashboardSession.objects.filter(
        _older("RETENTION_SESSIONS_DAYS", "expires_at", now) | _older("RETENTION_SESSIONS_DAYS", "revoked_at", now)
    ),
    "admin sessions": lambda now: Session.objects.filter(expire_date__lt=now),
    "failed-login attempts": lambda now: AccessAttempt.objects.filter(
        _older("RETENTION_LOGIN_RECORDS_DAYS", "attempt_time", now)
    ),
    "login log": lambda now: AccessLog.objects.filter(_older("RETENTION_LOGIN_RECORDS_DAYS", "attempt_time", now)),
    "failed-login log": lambda now: AccessFailureLog.objects.filter(
        _older("RETENTION_LOGIN_RECORDS_DAYS", "attempt_time", now)
    ),
    # Only a kept list page's check reads them, and no page is kept past a minute (core/api/page_cache.py).
    "guild change notes": lambda now: GuildChange.objects.filter(at__lt=now - timedelta(days=1)),
}


def purge(*, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete what retention allows, in batches; returns rows deleted (or, dry, that would be) per table.
    Cross-guild (a logged bypass): notifications and callbacks are guild data."""
    now = now or timezone.now()
    counts = {}
    with rls_bypass(reason="retention purge"):
        for name, rows in RULES.items():
            counts[name] = rows(now).count() if dry_run else _delete(rows(now))
    if not dry_run:
        log.info("retention_purged", **{k.replace(" ", "_").replace("-", "_"): v for k, v in counts.items()})
    return counts


def _delete(rows: QuerySet) -> int:
    total = 0
    while True:
        with transaction.atomic():
            ids = list(rows.values_list("pk", flat=True)[:BATCH])
            if not ids:
                return total
            total += rows.model.objects.filter(pk__in=ids).delete()[0]
