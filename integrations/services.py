"""Apify runs and YouTube refreshes for metrics: start, prove, fetch, store, fail, expire.

Life of a metrics run::

    start_metrics_run(guild_id, platform, post_ids)   registry row + budget debit, then Apify start
    POST /api/webhooks/apify                           verify_apify_delivery → accept_apify_delivery
    integrations.tasks.process_apify_run (on commit)   process_metrics_run: run state + dataset from
                                                       Apify's API, metrics.services.ingest_items
    manage.py expire_runs                              expire_runs: runs that never called back

Budget choice: the daily run budget is debited *before* the start, with the registry row, in one
transaction (guilds.budgets.debit_budget is a conditional UPDATE, so two workers can never both
spend the last run). When Apify refuses the start, the same transaction that marks the row failed
gives the run back (``_refund_run``): a run Apify never started costs the guild nothing, and at no
moment can the counter be below what was really started. Debiting only after a successful start would
let two workers both start a run with one run left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.deferred import enqueue
from core.tenancy import guild_scope, rls_bypass
from guilds.budgets import budget_for, debit_budget, record_usage, usage_day
from guilds.models import GuildApiUsage, GuildBudgetConfig
from guilds.notifications import notify
from integrations.apify.actors import actor_for, build_metrics_input
from integrations.apify.client import ApifyClient, RunInfo
from integrations.apify.normalize import MetricsItem, normalize_item
from integrations.apify.tokens import RUN_TOKEN_HEADER, InvalidRunToken, sign_run_token, verify_run_token
from integrations.errors import IntegrationError
from integrations.models import ApifyRunRegistry, WebhookDelivery
from integrations.youtube.client import YouTubeClient, batched, next_quota_reset
from metrics.models import VideoMetrics
from metrics.services import IngestResult, ingest_items
from tracking.models import Post
from tracking.platforms import Platform

log = structlog.get_logger(__name__)

Run = ApifyRunRegistry
WEBHOOK_PATHS = {Run.Purpose.METRICS: "/api/webhooks/apify", Run.Purpose.VERIFICATION: "/api/webhooks/verify"}
_APIFY_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


class ScrapingDisabled(IntegrationError):
    """APIFY_API_TOKEN / YOUTUBE_API_KEY is not set: the feature is off."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True, code="disabled")


# ------------------------------------------------------------------------------------------------
# Clients, built from settings (tests point APIFY_API_BASE_URL at tests/fakes/apify_server.py)
# ------------------------------------------------------------------------------------------------


def apify_client() -> ApifyClient:
    """An Apify client from settings; raises ScrapingDisabled when APIFY_API_TOKEN is unset."""
    if not settings.APIFY_API_TOKEN:
        raise ScrapingDisabled("Apify is off: APIFY_API_TOKEN is not set.")
    return ApifyClient(
        token=settings.APIFY_API_TOKEN,
        base_url=settings.APIFY_API_BASE_URL,
        timeout_s=settings.APIFY_HTTP_TIMEOUT_MS / 1000,
        max_retries=settings.APIFY_MAX_RETRIES,
        retry_delay_s=settings.APIFY_RETRY_DELAY_MS / 1000,
    )


def youtube_client(*, http: Any = None) -> YouTubeClient:
    """A YouTube client from settings; raises ScrapingDisabled when YOUTUBE_API_KEY is unset."""
    if not settings.YOUTUBE_API_KEY:
        raise ScrapingDisabled("YouTube is off: YOUTUBE_API_KEY is not set.")
    return YouTubeClient(api_key=settings.YOUTUBE_API_KEY, timeout_s=settings.YOUTUBE_HTTP_TIMEOUT_MS / 1000, http=http)


def run_token(run: ApifyRunRegistry, *, now: datetime) -> str:
    """The per-run proof Apify echoes back in X-Tracking-Run-Token."""
    return sign_run_token(
        registry_id=run.pk, issued_at=int(now.timestamp()), secret=settings.APIFY_WEBHOOK_SIGNING_SECRET
    )


# ------------------------------------------------------------------------------------------------
# Starting runs
# ------------------------------------------------------------------------------------------------


def start_metrics_run(
    *, guild_id: int, platform: str, post_ids: list[int], now: datetime | None = None
) -> ApifyRunRegistry | None:
    """Start one Apify run covering up to ``apify_max_items_per_run`` of ``post_ids`` (one guild,
    one platform). Returns the registry row — status ``initiated`` when Apify accepted the start,
    ``failed`` (with the reason, the run refunded, the posts' failure counts raised) when it did not —
    or None when the guild's daily run budget is exhausted (logged, counted as skipped, told once a
    day in the logs channel). Raises ValueError when no given post is a refreshable post of this
    guild and platform, UnsupportedScrape for YouTube, ScrapingDisabled when Apify is not configured.
    """
    now = now or timezone.now()
    actor = actor_for(platform=platform, purpose="metrics", settings_obj=settings)
    if not settings.APIFY_API_TOKEN:
        raise ScrapingDisabled("Apify is off: APIFY_API_TOKEN is not set.")
    with guild_scope(guild_id):
        run, posts = _register_metrics_run(guild_id, platform, post_ids, actor, now)
    if run is None:
        return None
    client = apify_client()
    urls = [p.submitted_url if p.needs_resolution else p.canonical_url for p in posts]
    try:
        info = client.start_run(
            actor_id=actor,
            run_input=build_metrics_input(platform=platform, urls=urls),
            webhook_url=settings.PUBLIC_BASE_URL + WEBHOOK_PATHS[Run.Purpose.METRICS],
            webhook_headers={RUN_TOKEN_HEADER: run_token(run, now=now)},
            max_items=len(urls),
        )
    except IntegrationError as exc:
        record_start_failure(run=run, reason=f"Apify refused to start the run: {exc.message}", now=now)
        (log.error if exc.permanent else log.warning)(
            "apify_start_failed", run=run.pk, guild_id=guild_id, error=exc.message
        )
        with guild_scope(guild_id):
            run.refresh_from_db()
        return run
    finally:
        client.close()
    with guild_scope(guild_id):
        Run.objects.for_guild(guild_id).filter(pk=run.pk).update(
            apify_run_id=info.run_id, dataset_id=info.dataset_id or ""
        )
    run.apify_run_id, run.dataset_id = info.run_id, info.dataset_id or ""
    log.info("apify_run_started", run=run.pk, apify_run_id=info.run_id, guild_id=guild_id, posts=len(posts))
    return run


def _register_metrics_run(guild_id, platform, post_ids, actor, now):
    budget = budget_for(guild_id)
    posts = list(
        Post.objects.for_guild(guild_id)
        .filter(platform=platform, pk__in=post_ids, status__in=Post.REFRESHABLE)
        .order_by("pk")[: budget.apify_max_items_per_run]
    )
    if not posts:
        raise ValueError(f"None of posts {post_ids[:10]} is a refreshable {platform} post of guild {guild_id}.")
    if len(post_ids) > len(posts):
        log.info("apify_batch_trimmed", guild_id=guild_id, asked=len(post_ids), covered=len(posts))
    if not debit_budget(guild=guild_id, kind="apify_runs", now=now):
        _budget_exhausted(guild_id, budget, now)
        return None, posts
    run = Run.objects.create(
        guild_id=guild_id,
        purpose=Run.Purpose.METRICS,
        platform=platform,
        actor_id=actor,
        post_ids=[p.pk for p in posts],
        item_count=len(posts),
        expires_at=now + timedelta(seconds=settings.WEBHOOK_DISPATCH_TTL_SECONDS),
    )
    return run, posts


def _budget_exhausted(guild_id: int, budget: GuildBudgetConfig, now: datetime) -> None:
    record_usage(guild=guild_id, now=now, apify_runs_skipped=1)
    log.warning("apify_budget_exhausted", guild_id=guild_id, limit=budget.daily_apify_run_limit)
    notify(
        guild_id=guild_id,
        kind="budget",
        event_key=f"apify_budget_exhausted:{usage_day(now).isoformat()}",
        title="Daily Apify run budget used up",
        body=f"All {budget.daily_apify_run_limit} runs of today (UTC) are spent; refreshes resume after "
        "midnight UTC. Raise the daily run limit in the guild's budget to refresh more often.",
    )


def _fail_if_initiated(run: ApifyRunRegistry, reason: str, now: datetime) -> bool:
    """Mark the run failed unless it already reached a final state (the caller holds the guild scope)."""
    return bool(
        Run.objects.for_guild(run.guild_id)
        .filter(pk=run.pk, status=Run.Status.INITIATED)
        .update(status=Run.Status.FAILED, status_message=reason[:500], finished_at=now)
    )


def record_start_failure(*, run: ApifyRunRegistry, reason: str, now: datetime) -> None:
    """A run Apify never started: mark it failed, give the guild its run back, count the failure on
    its posts. One transaction; idempotent (only an ``initiated`` row changes)."""
    with guild_scope(run.guild_id):
        changed = _fail_if_initiated(run, reason, now)
        if not changed:
            return
        _refund_run(run.guild_id, now)  # the day the run was debited (start_metrics_run's ``now``)
        _count_post_failures(run.guild_id, run.post_ids, reason)


def _refund_run(guild_id: int, when: datetime) -> None:
    GuildApiUsage.objects.for_guild(guild_id).filter(day=usage_day(when), apify_run_count__gte=1).update(
        apify_run_count=F("apify_run_count") - 1
    )


def _count_post_failures(guild_id: int, post_ids: list[int], reason: str) -> None:
    """One more failure for each post, and its next refresh backed off accordingly (the scheduler's
    cadence doubles the interval per failure), so a post that keeps failing is not retried every
    cycle. Two queries whatever the number of posts."""
    if not post_ids:
        return
    from tracking.scheduling import next_refresh_at

    now = timezone.now()
    budget = budget_for(guild_id)
    posts = list(Post.objects.for_guild(guild_id).select_for_update().filter(pk__in=post_ids))
    for post in posts:
        post.failure_count += 1
        post.last_failure_reason = reason[:500]
        if post.status not in (Post.Status.FINALIZED, Post.Status.REJECTED):
            post.next_refresh_at = next_refresh_at(post=post, now=now, budget=budget)
    Post.objects.bulk_update(posts, ["failure_count", "last_failure_reason", "next_refresh_at"])


# ------------------------------------------------------------------------------------------------
# Webhooks: proof first, then one accepted delivery per dispatch id
# ------------------------------------------------------------------------------------------------


class WebhookRejected(Exception):
    """The delivery does not prove it belongs to a run we started. ``status`` is the 4xx to answer."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class VerifiedDelivery:
    run: ApifyRunRegistry
    dispatch_id: str
    event_type: str
    apify_run_id: str


def verify_apify_delivery(*, headers: Any, body: bytes, purpose: str, now: datetime | None = None) -> VerifiedDelivery:
    """Prove a webhook delivery from its raw bytes and headers, or raise WebhookRejected.

    Order: body size, origin (when WEBHOOK_SIGNED_PAYLOAD_MODE=enforce), the per-run token, JSON,
    then the registry: the run exists, has this purpose, has not expired, and the run the body names
    is the run the token was issued for. Reads only; writes nothing.
    """
    now = now or timezone.now()
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        raise WebhookRejected(413, "too_large", f"The body is over {settings.WEBHOOK_MAX_BODY_BYTES} bytes.")
    _check_origin(headers.get("X-Apify-Request-Origin", ""))
    registry_id = _check_token(headers.get(RUN_TOKEN_HEADER, ""), now)
    payload = _parse_json(body)
    dispatch_id = (headers.get("X-Apify-Webhook-Dispatch-Id") or "").strip()
    if not dispatch_id or len(dispatch_id) > 100:
        raise WebhookRejected(400, "no_dispatch_id", "X-Apify-Webhook-Dispatch-Id is missing or too long.")
    with rls_bypass(reason="apify webhook lookup"):
        run = Run.objects.filter(pk=registry_id).first()
    if run is None or run.purpose != purpose:
        raise WebhookRejected(404, "unknown_run", "The token names no run of ours for this endpoint.")
    if run.status == Run.Status.EXPIRED or run.expires_at <= now:
        raise WebhookRejected(410, "expired_run", "This run has expired; its webhook is no longer accepted.")
    body_run_id = _body_run_id(payload)
    if run.apify_run_id and body_run_id and body_run_id != run.apify_run_id:
        raise WebhookRejected(403, "other_run", "The token was issued for another run.")
    event_type = str(payload.get("eventType") or "")[:60]
    return VerifiedDelivery(run=run, dispatch_id=dispatch_id, event_type=event_type, apify_run_id=body_run_id)


def _check_origin(origin: str) -> None:
    allowed = {o.strip().lower() for o in settings.WEBHOOK_ALLOWED_ORIGINS}
    host = origin.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if host in allowed:
        return
    if settings.WEBHOOK_SIGNED_PAYLOAD_MODE == "enforce":
        raise WebhookRejected(403, "bad_origin", "X-Apify-Request-Origin is not an allowed origin.")
    log.warning("apify_webhook_origin_not_allowed", origin=origin[:100], mode="log")


def _check_token(token: str, now: datetime) -> int:
    if not token:
        raise WebhookRejected(401, "no_token", f"{RUN_TOKEN_HEADER} is missing.")
    try:
        registry_id, _ = verify_run_token(
            token=token,
            secret=settings.APIFY_WEBHOOK_SIGNING_SECRET,
            max_age_s=settings.WEBHOOK_DISPATCH_TTL_SECONDS,
            now=int(now.timestamp()),
        )
    except InvalidRunToken as exc:
        raise WebhookRejected(401, "bad_token", f"{RUN_TOKEN_HEADER} is not valid ({exc.reason}).") from None
    except ValueError:  # no signing secret configured: nothing can be proven
        raise WebhookRejected(401, "bad_token", f"{RUN_TOKEN_HEADER} cannot be checked.") from None
    if not registry_id.isdigit():
        raise WebhookRejected(404, "unknown_run", "The token names no run of ours.")
    return int(registry_id)


def _parse_json(body: bytes) -> dict[str, Any]:
    import json

    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected(400, "malformed_json", "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "malformed_json", "The body must be a JSON object.")
    return payload


def _body_run_id(payload: dict[str, Any]) -> str:
    """The run id the body names (only used to compare with the registry, never for data)."""
    event = payload.get("eventData") if isinstance(payload.get("eventData"), dict) else {}
    resource = payload.get("resource") if isinstance(payload.get("resource"), dict) else {}
    value = event.get("actorRunId") or resource.get("id") or ""
    return value if isinstance(value, str) and _APIFY_ID.match(value) else ""


def accept_apify_delivery(*, delivery: VerifiedDelivery, source: str, ip: str | None) -> bool:
    """Record the dispatch once (WebhookDelivery) and queue its processing after commit.

    Returns False for a dispatch id already accepted: nothing is queued again.
    """
    from integrations import tasks

    run = delivery.run
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                source=source, delivery_id=delivery.dispatch_id, run=run, event_type=delivery.event_type, remote_ip=ip
            )
            if not run.apify_run_id and delivery.apify_run_id:
                # The start call timed out after Apify had started the run: the token proves it is ours.
                with guild_scope(run.guild_id):
                    Run.objects.for_guild(run.guild_id).filter(pk=run.pk, apify_run_id__isnull=True).update(
                        apify_run_id=delivery.apify_run_id
                    )
            task = (
                tasks.process_verification_run if run.purpose == Run.Purpose.VERIFICATION else tasks.process_apify_run
            )
            enqueue(task, run.pk)  # after commit; with no broker, after the response
    except IntegrityError:
        log.info("apify_webhook_duplicate", source=source, dispatch_id=delivery.dispatch_id, run=run.pk)
        return False
    return True


# ------------------------------------------------------------------------------------------------
# Processing a finished run
# ------------------------------------------------------------------------------------------------


def load_run(registry_id: int) -> ApifyRunRegistry | None:
    with rls_bypass(reason="apify run processing lookup"):
        return Run.objects.filter(pk=registry_id).first()


def fetch_finished_run(*, run: ApifyRunRegistry, client: ApifyClient) -> tuple[RunInfo, list[dict[str, Any]]]:
    """The run's state from Apify (never from the webhook body) and, when it succeeded, its items.

    Raises IntegrationError: transient when the run is still running or Apify did not answer.
    """
    if not run.apify_run_id:
        raise IntegrationError(f"Run {run.pk} has no Apify run id yet", permanent=False, code="no_run_id")
    info = client.get_run(run_id=run.apify_run_id)
    if not info.is_terminal:
        raise IntegrationError(f"Apify run {info.run_id} is still {info.status}", permanent=False, code="running")
    if not info.succeeded or not info.dataset_id:
        return info, []
    return info, list(client.iter_dataset_items(dataset_id=info.dataset_id))


def fetch_initiated_run(*, registry_id: int, purpose: str):
    """(run, finished run info, dataset items) for a run still ``initiated`` with that purpose, or
    None when there is nothing to do (unknown, already final, or another purpose)."""
    run = load_run(registry_id)
    if run is None or run.status != Run.Status.INITIATED or run.purpose != purpose:
        return None
    client = apify_client()
    try:
        info, raw = fetch_finished_run(run=run, client=client)
    finally:
        client.close()
    return run, info, raw


def process_metrics_run(*, registry_id: int) -> IngestResult | None:
    """Fetch a finished metrics run and store its dataset. Idempotent: a run that is no longer
    ``initiated`` is left alone; the snapshots are keyed by the run's finish time. Returns None when
    there was nothing to do or the run failed."""
    fetched = fetch_initiated_run(registry_id=registry_id, purpose=Run.Purpose.METRICS)
    if fetched is None:
        return None
    run, info, raw = fetched
    if not info.succeeded:
        mark_run_failed(run=run, reason=f"Apify run {info.status.lower()}: {info.status_message or 'no message'}")
        return None
    items = [normalize_item(platform=run.platform, item=i) for i in raw]
    finished = info.finished_at or timezone.now()
    with guild_scope(run.guild_id):
        locked = Run.objects.for_guild(run.guild_id).select_for_update().filter(pk=run.pk).first()
        if locked is None or locked.status != Run.Status.INITIATED:
            return None  # another worker got here first
        result = ingest_items(
            guild_id=run.guild_id,
            platform=run.platform,
            items=items,
            captured_at=finished,
            provider=VideoMetrics.Provider.APIFY,
            run_id=info.run_id,
        )
        missing = [pk for pk in run.post_ids if pk not in result.matched_post_ids]
        _count_post_failures(run.guild_id, missing, "The Apify run returned no item for this post.")
        Run.objects.for_guild(run.guild_id).filter(pk=run.pk).update(
            status=Run.Status.SUCCEEDED,
            finished_at=finished,
            dataset_id=info.dataset_id or "",
            item_count=len(raw),
            status_message=f"{result.inserted} new, {result.updated} again, {result.unmatched} unmatched, "
            f"{result.errors} errors, {len(missing)} missing",
        )
    return result


def mark_run_failed(*, run: ApifyRunRegistry, reason: str, now: datetime | None = None) -> bool:
    """A run that ended badly: registry failed, its posts' failure counts +1, one alert in the logs
    channel (event key ``run_failed:<id>``). Idempotent: False when the row was already final."""
    now = now or timezone.now()
    with guild_scope(run.guild_id):
        changed = _fail_if_initiated(run, reason, now)
        if not changed:
            return False
        _count_post_failures(run.guild_id, run.post_ids, reason)
        notify(
            guild_id=run.guild_id,
            kind="run_failed",
            event_key=f"run_failed:{run.pk}",
            title=f"{Platform(run.platform).label} refresh run failed",
            body=f"{reason}\nRun #{run.pk} ({run.apify_run_id or 'not started'}) covered {len(run.post_ids)} posts; "
            "they will be retried later.",
        )
    log.warning("apify_run_failed", run=run.pk, guild_id=run.guild_id, reason=reason)
    return True


def expire_runs(*, now: datetime | None = None) -> int:
    """Runs past ``expires_at`` that never called back become ``expired``; their posts' failure
    counts go up and a pending profile check fails. Cross-guild (logged bypass). Returns how many."""
    now = now or timezone.now()
    with rls_bypass(reason="expire apify runs"):
        stale = list(Run.objects.filter(status=Run.Status.INITIATED, expires_at__lte=now).select_for_update())
        reason = "The Apify run never reported back and expired."
        for run in stale:
            _count_post_failures(run.guild_id, run.post_ids, reason)
        Run.objects.filter(pk__in=[r.pk for r in stale]).update(
            status=Run.Status.EXPIRED, status_message=reason, finished_at=now
        )
    for run in stale:
        if run.purpose == Run.Purpose.VERIFICATION and run.profile_id:
            from integrations.verification_runs import fail_expired_verification

            fail_expired_verification(run=run)
    if stale:
        log.info("apify_runs_expired", count=len(stale))
    return len(stale)


# ------------------------------------------------------------------------------------------------
# YouTube
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YouTubeRefreshResult:
    """``calls`` made (= units spent), posts ``refreshed`` and found ``unavailable``; ``stopped`` says
    why the refresh ended early ("budget", "paused", "quota", "key", "error") or is empty."""

    calls: int = 0
    refreshed: int = 0
    unavailable: int = 0
    stopped: str = ""
    paused_until: datetime | None = None
    ingest: IngestResult | None = None


def refresh_youtube(
    *, guild_id: int, post_ids: list[int], now: datetime | None = None, client: YouTubeClient | None = None
) -> YouTubeRefreshResult:
    """Refresh YouTube posts with ``videos.list``, 50 ids per call, 1 unit debited before each call.

    Ids YouTube does not return make their post unavailable. quotaExceeded pauses the guild's YouTube
    refreshes until the next Pacific midnight (one logs-channel message); an invalid key is a
    permanent error (logged, one message); other failures count on the batch's posts. ``client``
    replaces the settings-built client (tests).
    """
    now = now or timezone.now()
    with guild_scope(guild_id):
        budget = budget_for(guild_id)
        if budget.youtube_paused_until and budget.youtube_paused_until > now:
            return YouTubeRefreshResult(stopped="paused", paused_until=budget.youtube_paused_until)
        posts = list(
            Post.objects.for_guild(guild_id)
            .filter(platform=Platform.YOUTUBE, pk__in=post_ids, external_id__isnull=False)
            .order_by("pk")
            .values_list("pk", "external_id")
        )
    client = client or youtube_client()
    items: list[MetricsItem] = []
    calls, stopped, paused = 0, "", None
    for batch in batched([ext for _, ext in posts]):
        with guild_scope(guild_id):
            if not debit_budget(guild=guild_id, kind="youtube_units", now=now):
                stopped = "budget"
                break
        calls += 1
        try:
            answer = client.fetch_videos(video_ids=batch)
        except IntegrationError as exc:
            stopped, paused = _youtube_failure(guild_id, exc, now, [pk for pk, ext in posts if ext in batch])
            if stopped in ("quota", "key"):
                break
            continue
        items += [_youtube_item(v) for v in answer.videos.values()]
        items += [
            MetricsItem(
                platform=Platform.YOUTUBE, external_id=i, unavailable=True, error="video not returned by YouTube"
            )
            for i in answer.missing_ids
        ]
    result = None
    if items:
        result = ingest_items(
            guild_id=guild_id,
            platform=Platform.YOUTUBE,
            items=items,
            captured_at=now,
            provider=VideoMetrics.Provider.YOUTUBE,
        )
    unavailable = sum(1 for i in items if i.unavailable)
    return YouTubeRefreshResult(calls, len(items) - unavailable, unavailable, stopped, paused, result)


def _youtube_item(video) -> MetricsItem:
    return MetricsItem(
        platform=Platform.YOUTUBE,
        external_id=video.video_id,
        views=video.views,
        likes=video.likes,
        comments=video.comments,
        caption=video.title,
        author_id=video.channel_id or None,
        posted_at=video.published_at,
        views_source="statistics.viewCount",
    )


def _youtube_failure(guild_id: int, exc: IntegrationError, now: datetime, post_pks: list[int]):
    if exc.code == "quotaExceeded":
        until = next_quota_reset(now)
        with guild_scope(guild_id):
            GuildBudgetConfig.objects.for_guild(guild_id).update(youtube_paused_until=until)
            notify(
                guild_id=guild_id,
                kind="budget",
                event_key=f"youtube_quota:{until.date().isoformat()}",
                title="YouTube quota used up",
                body=f"YouTube refreshes pause until {until:%Y-%m-%d %H:%M} UTC (YouTube's daily reset).",
            )
        log.warning("youtube_quota_exceeded", guild_id=guild_id, paused_until=until.isoformat())
        return "quota", until
    if exc.code == "keyInvalid":
        log.error("youtube_key_invalid", guild_id=guild_id, error=exc.message)
        with guild_scope(guild_id):
            notify(
                guild_id=guild_id,
                kind="alert",
                event_key=f"youtube_key_invalid:{usage_day(now).isoformat()}",
                title="YouTube API key rejected",
                body="YouTube refused the API key (YOUTUBE_API_KEY). Refreshes of YouTube posts stop until "
                "an operator sets a valid key.",
            )
        return "key", None
    log.warning("youtube_call_failed", guild_id=guild_id, error=exc.message, permanent=exc.permanent)
    with guild_scope(guild_id):
        _count_post_failures(guild_id, post_pks, exc.message)
    return "error", None
