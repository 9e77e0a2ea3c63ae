"""Collection: the refresh cycle that decides what to fetch, and the vendor calls that fetch it.

    run_refresh_cycle()           plan (tracking.cadence) from due posts of every guild, then per batch:
                                  claim the posts, start an Apify run or call YouTube
    start_metrics_run(...)        reserve (registry row + budget) → call Apify → record
    process_metrics_run(id)       a finished run's dataset, read from Apify's API, stored by ingestion
    refresh_youtube(...)          videos.list, 50 ids per unit: debit → call → ingest

Every vendor call here runs with no transaction open and no row locked (reserve → call → record):
what is reserved is committed first, so a crash during the call leaves a registry row behind, never
a run Apify started that we do not know of. Claims are compare-and-set on the next_refresh_at the
plan was made from, so two planners (or a planner and new numbers) never put a post in two runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from guilds.budgets import budget_for, debit_budget, record_usage, usage_day
from guilds.models import Guild, GuildApiUsage, GuildBudgetConfig
from guilds.notifications import notify
from integrations.apify.actors import actor_for, build_metrics_input
from integrations.apify.normalize import MetricsItem, normalize_item
from integrations.apify.runs import (
    StartRefused,
    StartUnknown,
    call_start,
    fail_run,
    fetch_initiated_run,
    record_run_started,
    record_start_refused,
    record_start_unknown,
    reserve_run,
)
from integrations.errors import FeatureDisabled, IntegrationError
from integrations.models import ApifyRunRegistry
from integrations.youtube.client import YouTubeClient, batched, next_quota_reset, youtube_client
from metrics.captions import check_captions
from metrics.ingestion import IngestResult, ingest_items
from metrics.models import VideoMetrics
from tracking import cadence
from tracking.cadence import Allowance, Batch, Cadence, Limits, Plan, plan_cycle, run_budget_binds, spendable
from tracking.lifecycle import claim_for_refresh, record_refresh_failures, release_claim
from tracking.models import Post
from tracking.platforms import Platform, registry

log = structlog.get_logger(__name__)

Run = ApifyRunRegistry
_said_off: set[str] = set()


# ------------------------------------------------------------------------------------------------
# The refresh cycle: read across guilds, plan, then act per guild
# ------------------------------------------------------------------------------------------------


class UnknownGuild(ValueError):
    """No active guild has that id."""


@dataclass
class CycleLine:
    """One guild and platform in a cycle: what was (or, in a dry run, would be) fetched and its cost."""

    guild_id: int
    platform: str
    posts: int = 0
    runs: int = 0
    youtube_units: int = 0
    waiting: int = 0
    remaining_apify_runs: int = 0
    remaining_youtube_units: int = 0

    @property
    def waiting_reason(self) -> str:
        """Why this line's due posts wait (empty when none wait)."""
        if not self.waiting:
            return ""
        if self.platform == "youtube" and self.remaining_youtube_units <= 0:
            return "today's YouTube units are spent (budget resets at 00:00 UTC)"
        if self.platform != "youtube" and self.remaining_apify_runs <= 0:
            return "today's Apify runs are spent (budget resets at 00:00 UTC)"
        if self.posts == 0:
            return (
                "batch not full yet: it starts once full, or once a post has waited long enough, "
                "within the budget share allowed at this hour"
            )
        return "more than this cycle may start (per-guild run cap or budget share); the next cycle takes them"


@dataclass
class CycleReport:
    """What a cycle did: runs started, YouTube calls made, posts sent, batches not started and why."""

    now: datetime
    dry_run: bool
    lines: list[CycleLine] = field(default_factory=list)
    runs_started: int = 0
    youtube_calls: int = 0
    posts_sent: int = 0
    not_started: dict[str, int] = field(default_factory=dict)


def _load(now: datetime, guild_id: int | None, platform: str | None, limits: Limits):
    """Guild allowances and candidate posts (due or due within the lookahead, not in flight)."""
    guilds = Guild.objects.filter(active=True)
    if guild_id is not None:
        guilds = guilds.filter(id=guild_id)
    ids = list(guilds.values_list("id", flat=True))
    if guild_id is not None and not ids:
        raise UnknownGuild(f"No active guild with id {guild_id}.")
    budgets = {b.guild_id: b for b in GuildBudgetConfig.objects.filter(guild_id__in=ids)}
    usage = {u.guild_id: u for u in GuildApiUsage.objects.filter(guild_id__in=ids, day=usage_day(now))}
    in_flight: set[int] = set()
    runs = Run.objects.filter(
        guild_id__in=ids, purpose=Run.Purpose.METRICS, status__in=Run.OPEN, expires_at__gt=now
    ).values_list("post_ids", flat=True)
    for post_ids in runs:
        in_flight.update(int(i) for i in post_ids or ())
    horizon = now + limits.horizon
    posts, allowances, remaining = [], {}, {}
    for gid in ids:
        budget = budgets.get(gid) or GuildBudgetConfig(guild_id=gid)  # defaults; a dry run writes nothing
        today = usage.get(gid)
        left_runs = max(0, budget.daily_apify_run_limit - (today.apify_run_count if today else 0))
        left_units = max(0, budget.daily_youtube_quota_units - (today.youtube_quota_used if today else 0))
        remaining[gid] = (left_runs, left_units)
        allowances[gid] = _allowance(budget, left_runs, left_units, now)
        qs = Post.objects.for_guild(gid).filter(status__in=Post.REFRESHABLE, next_refresh_at__lte=horizon)
        if platform:
            qs = qs.filter(platform=platform)
        qs = qs.only(*cadence.POST_FIELDS).order_by("next_refresh_at")[: limits.max_posts_per_cycle]
        posts += [p for p in qs if p.id not in in_flight]
    return posts, allowances, remaining


def _allowance(budget: Any, left_runs: int, left_units: int, now: datetime) -> Allowance:
    share = settings.SCHEDULER_BUDGET_RESERVE_SHARE
    paused = budget.youtube_paused_until is not None and budget.youtube_paused_until > now
    return Allowance(
        guild_id=budget.guild_id,
        apify_runs=spendable(limit=budget.daily_apify_run_limit, remaining=left_runs, now=now, reserve_share=share),
        youtube_units=spendable(
            limit=budget.daily_youtube_quota_units, remaining=left_units, now=now, reserve_share=share
        ),
        max_items_per_run=budget.apify_max_items_per_run,
        cadence=Cadence.of(budget),
        youtube_paused=paused,
        runs_bind=run_budget_binds(limit=budget.daily_apify_run_limit, remaining=left_runs, now=now),
    )


def plan_due_refreshes(
    *,
    now: datetime | None = None,
    guild_id: int | None = None,
    platform: str | None = None,
    limits: Limits | None = None,
) -> tuple[Plan, list[Any], dict[int, tuple[int, int]]]:
    """Read (under a logged RLS bypass) and plan one cycle. Writes nothing.

    Returns the plan, the candidate posts it was made from and each guild's remaining
    (apify runs, youtube units) today. Raises UnknownGuild for an unknown or inactive ``guild_id``.
    """
    now = now or timezone.now()
    limits = limits or Limits.from_settings()
    with rls_bypass(reason="scheduler plan"):
        posts, allowances, remaining = _load(now, guild_id, platform, limits)
    return plan_cycle(posts=posts, allowances=allowances, now=now, limits=limits), posts, remaining


def run_refresh_cycle(
    *,
    now: datetime | None = None,
    guild_id: int | None = None,
    platform: str | None = None,
    dry_run: bool = False,
    start_metrics_run: Callable[..., Any] | None = None,
    refresh_youtube: Callable[..., Any] | None = None,
) -> CycleReport:
    """One planning cycle: plan the due refreshes, then start the Apify runs and YouTube calls.

    Idempotent and safe to run concurrently or again after a crash: each batch first *claims* its
    posts (compare-and-set on the next_refresh_at we planned from; claimed posts move to
    now + SCHEDULER_INFLIGHT_GRACE_MINUTES) in a committed transaction of its own, so a post is never
    put in two runs; posts of a run in flight are not even read. ``dry_run`` writes nothing. The
    vendor services are this module's (injectable for tests and tools).
    """
    now = now or timezone.now()
    plan, posts, remaining = plan_due_refreshes(now=now, guild_id=guild_id, platform=platform)
    report = CycleReport(now=now, dry_run=dry_run, lines=_lines(plan, remaining))
    if dry_run:
        return report
    apify_service = start_metrics_run or _default_start_metrics_run
    youtube_service = refresh_youtube or _default_refresh_youtube
    planned = {p.id: p.next_refresh_at for p in posts}
    for batch in plan.batches:
        outcome = _execute(batch, planned, now, youtube_service if batch.is_youtube else apify_service)
        if outcome == "started":
            report.posts_sent += len(batch.post_ids)
            report.youtube_calls += batch.cost if batch.is_youtube else 0
            report.runs_started += 0 if batch.is_youtube else 1
        else:
            report.not_started[outcome] = report.not_started.get(outcome, 0) + 1
    log.info(
        "refresh_cycle",
        runs=report.runs_started,
        youtube_calls=report.youtube_calls,
        posts=report.posts_sent,
        not_started=report.not_started,
    )
    return report


def _lines(plan: Plan, remaining: Mapping[int, tuple[int, int]]) -> list[CycleLine]:
    lines: dict[tuple[int, str], CycleLine] = {}

    def line(gid: int, platform: str) -> CycleLine:
        if (gid, platform) not in lines:
            runs, units = remaining.get(gid, (0, 0))
            lines[(gid, platform)] = CycleLine(gid, platform, remaining_apify_runs=runs, remaining_youtube_units=units)
        return lines[(gid, platform)]

    for batch in plan.batches:
        entry = line(batch.guild_id, batch.platform)
        entry.posts += len(batch.post_ids)
        if batch.is_youtube:
            entry.youtube_units += batch.cost
        else:
            entry.runs += 1
    for (gid, platform), waiting in plan.waiting.items():
        line(gid, platform).waiting += waiting
    return sorted(lines.values(), key=lambda entry: (entry.guild_id, entry.platform))


def _execute(batch: Batch, planned: Mapping[int, datetime | None], now: datetime, service: Callable) -> str:
    """Claim the batch's posts (committed), then call the vendor service outside any transaction.

    Returns "started"; "claimed elsewhere" (another planner or new numbers got there first, or the
    posts stopped being refreshable); "budget exhausted" or "disabled" (nothing spent: the claim is
    released and the posts stay due); "vendor error" (the service counted the failure on the posts,
    which back off).
    """
    grace = now + timedelta(minutes=settings.SCHEDULER_INFLIGHT_GRACE_MINUTES)
    with guild_scope(batch.guild_id):
        ids = claim_for_refresh(guild_id=batch.guild_id, post_ids=batch.post_ids, planned=planned, until=grace)
        if not ids:
            return "claimed elsewhere"
        claimed = {pk: planned[pk] for pk in ids}
        kwargs = {"guild_id": batch.guild_id, "post_ids": ids, "now": now}
        try:
            result = service(**kwargs) if batch.is_youtube else service(platform=batch.platform, **kwargs)
        except FeatureDisabled as exc:
            _said_once(f"off:{batch.platform}", platform=batch.platform, reason=str(exc))
            release_claim(guild_id=batch.guild_id, planned=claimed, claimed_until=grace)
            return "disabled"
        except ValueError:
            return "claimed elsewhere"  # none of the posts is refreshable any more
        outcome = _outcome(result, batch)
        if outcome == "budget exhausted":
            release_claim(guild_id=batch.guild_id, planned=claimed, claimed_until=grace)
    return outcome


def _outcome(result: Any, batch: Batch) -> str:
    """Read start_metrics_run's registry row (None = no budget) or refresh_youtube's result."""
    if batch.is_youtube:
        stopped = getattr(result, "stopped", "")
        if not getattr(result, "calls", 1) and stopped in ("budget", "paused"):
            return "budget exhausted"
        return "vendor error" if stopped in ("quota", "key", "error") else "started"
    if result is None:
        return "budget exhausted"
    return "vendor error" if getattr(result, "status", "") == Run.Status.FAILED else "started"


def _said_once(key: str, **fields: Any) -> None:
    if key not in _said_off:
        _said_off.add(key)
        log.warning("refresh_service_disabled", **fields)


# ------------------------------------------------------------------------------------------------
# Apify metrics runs
# ------------------------------------------------------------------------------------------------


def start_metrics_run(
    *, guild_id: int, platform: str, post_ids: Sequence[int], now: datetime | None = None
) -> ApifyRunRegistry | None:
    """Start one Apify run covering up to ``apify_max_items_per_run`` of ``post_ids`` (one guild,
    one platform): reserve → call → record. Returns the registry row — status ``initiated`` when
    Apify accepted the start, ``failed`` (with the reason, the run given back, the posts' failure
    counts raised) when it refused — or None when the guild's daily run budget is spent (counted as
    skipped, told once a day in the logs channel). Raises ValueError when no given post is a
    refreshable post of this guild and platform, FeatureDisabled when Apify is not configured.
    """
    now = now or timezone.now()
    actor = actor_for(platform=platform, purpose="metrics", settings_obj=settings)
    if not settings.APIFY_API_TOKEN:
        raise FeatureDisabled("Apify is off: APIFY_API_TOKEN is not set.")
    with guild_scope(guild_id):
        budget = budget_for(guild_id)
        posts = list(
            Post.objects.for_guild(guild_id)
            .filter(platform=platform, pk__in=post_ids, status__in=Post.REFRESHABLE)
            .order_by("pk")[: budget.apify_max_items_per_run]
        )
        if not posts:
            raise ValueError(
                f"None of posts {list(post_ids)[:10]} is a refreshable {platform} post of guild {guild_id}."
            )
        if len(post_ids) > len(posts):
            log.info("apify_batch_trimmed", guild_id=guild_id, asked=len(post_ids), covered=len(posts))
        urls = [p.submitted_url if p.needs_resolution else p.canonical_url for p in posts]
        run_input = build_metrics_input(platform=platform, urls=urls)
        run = reserve_run(
            guild_id=guild_id,
            purpose=Run.Purpose.METRICS,
            platform=platform,
            actor_id=actor,
            run_input=run_input,
            now=now,
            post_ids=[p.pk for p in posts],
        )
        if run is None:
            _budget_exhausted(guild_id, budget, now)
            return None
        try:
            info = call_start(run=run, run_input=run_input, now=now, max_items=len(urls))
        except StartRefused as refused:
            _start_refused(run, refused.reason, now)
        except StartUnknown as unknown:  # maybe running at Apify: the reconciler finds out; nothing refunded
            record_start_unknown(run=run, reason=unknown.reason)
        else:
            record_run_started(run=run, info=info)
        run.refresh_from_db()
    return run


def _start_refused(run: ApifyRunRegistry, why: str, now: datetime) -> None:
    reason = f"Apify refused to start the run: {why}"
    with transaction.atomic():
        if record_start_refused(run=run, reason=reason, now=now):
            record_refresh_failures(guild_id=run.guild_id, post_ids=run.post_ids, reason=reason, now=now)
    log.warning("apify_start_refused", run=run.pk, guild_id=run.guild_id, error=why)


def _budget_exhausted(guild_id: int, budget: GuildBudgetConfig, now: datetime) -> None:
    with transaction.atomic():
        record_usage(guild=guild_id, now=now, apify_runs_skipped=1)
        notify(
            guild_id=guild_id,
            kind="budget",
            event_key=f"apify_budget_exhausted:{usage_day(now).isoformat()}",
            title="Daily Apify run budget used up",
            body=f"All {budget.daily_apify_run_limit} runs of today (UTC) are spent; refreshes resume after "
            "midnight UTC. Raise the daily run limit in the guild's budget to refresh more often.",
        )
    log.warning("apify_budget_exhausted", guild_id=guild_id, limit=budget.daily_apify_run_limit)


def process_metrics_run(*, registry_id: int) -> IngestResult | None:
    """Fetch a finished metrics run and store its dataset. Idempotent: a run that is no longer
    ``initiated`` is left alone; the snapshots are keyed by the run's finish time. Returns None when
    there was nothing to do or the run failed. Raises IntegrationError when Apify could not be read
    (transient: the caller retries)."""
    fetched = fetch_initiated_run(registry_id=registry_id, purpose=Run.Purpose.METRICS)
    if fetched is None:
        return None
    run, info, raw = fetched
    if not info.succeeded:
        mark_run_failed(run=run, reason=f"Apify run {info.status.lower()}: {info.status_message or 'no message'}")
        return None
    items = [normalize_item(platform=run.platform, item=i) for i in raw]
    finished = info.finished_at or timezone.now()
    with guild_scope(run.guild_id), transaction.atomic():
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
        unreadable = {r.post_id: r.reason for r in result.refused if r.post_id in run.post_ids}
        missing = [pk for pk in run.post_ids if pk not in result.matched_post_ids and pk not in unreadable]
        record_refresh_failures(
            guild_id=run.guild_id, post_ids=missing, reason="The Apify run returned no item for this post."
        )
        for post_id, reason in unreadable.items():
            record_refresh_failures(
                guild_id=run.guild_id, post_ids=[post_id], reason=f"The Apify item could not be read: {reason}"[:500]
            )
        Run.objects.for_guild(run.guild_id).filter(pk=run.pk).update(
            status=Run.Status.SUCCEEDED,
            finished_at=finished,
            dataset_id=info.dataset_id or "",
            item_count=len(raw),
            status_message=f"{result.inserted} new, {result.updated} again, {result.unmatched} unmatched, "
            f"{result.errors} errors, {len(result.refused)} unreadable, {len(missing)} missing",
        )
    check_captions(guild_id=run.guild_id, post_ids=result.matched_post_ids)  # new captions, outside the write
    return result


def mark_run_failed(*, run: ApifyRunRegistry, reason: str, now: datetime | None = None) -> bool:
    """A run that ended badly: registry failed, its posts' failure counts +1, one alert in the logs
    channel (event key ``run_failed:<id>``). Idempotent: False when the row was already final."""
    now = now or timezone.now()
    with guild_scope(run.guild_id), transaction.atomic():
        if not fail_run(run=run, reason=reason, now=now):
            return False
        record_refresh_failures(guild_id=run.guild_id, post_ids=run.post_ids, reason=reason, now=now)
        notify(
            guild_id=run.guild_id,
            kind="run_failed",
            event_key=f"run_failed:{run.pk}",
            title=f"{registry.get(run.platform).label} refresh run failed",
            body=f"{reason}\nRun #{run.pk} ({run.apify_run_id or 'not started'}) covered {len(run.post_ids)} posts; "
            "they will be retried later.",
        )
    log.warning("apify_run_failed", run=run.pk, guild_id=run.guild_id, reason=reason)
    return True


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
    *, guild_id: int, post_ids: Sequence[int], now: datetime | None = None, client: YouTubeClient | None = None
) -> YouTubeRefreshResult:
    """Refresh YouTube posts with ``videos.list``, 50 ids per call, 1 unit debited (committed) before
    each call, which runs with no transaction open.

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
    if result is not None:
        check_captions(guild_id=guild_id, post_ids=result.matched_post_ids)
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
        thumbnail_url=video.thumbnail_url,
    )


def _youtube_failure(guild_id: int, exc: IntegrationError, now: datetime, post_pks: list[int]):
    """Record what a failed videos.list means (runs in the guild's scope). Returns (stopped, paused_until)."""
    if exc.code == "quotaExceeded":
        until = next_quota_reset(now)
        with transaction.atomic():
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
    record_refresh_failures(guild_id=guild_id, post_ids=post_pks, reason=exc.message, now=now)
    return "error", None


_default_start_metrics_run = start_metrics_run
_default_refresh_youtube = refresh_youtube
