"""Storing measurements: one dataset in, snapshots and each post's latest numbers out, in bulk.

``ingest_items`` is the one write path for numbers, whatever brought them (an Apify run, a YouTube
``videos.list`` batch, an imported dataset). A dataset of any size costs a constant number of
queries: every write is one ``INSERT ... SELECT`` or ``UPDATE ... FROM`` over a JSON row set
(``jsonb_to_recordset`` on PostgreSQL, ``json_each`` on SQLite), so there are no per-row statements
and no backend batch limits (Django's SQLite bulk_create splits at 999 parameters).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

from guilds.services import budget_for
from integrations.apify.normalize import MetricsItem, normalize_item
from integrations.models import GuildNotification
from metrics.fraud import Finding, Point, detect_signals, ownership_finding, unavailable_finding
from metrics.models import FraudSignal, VideoMetrics
from tracking.lifecycle import ALLOWED
from tracking.models import Post, PostStatusChange
from tracking.tenancy import guild_scope

log = structlog.get_logger(__name__)

ACTOR = "system:ingestion"
S = Post.Status
# Items per round trip set. Large enough that a normal dataset is one chunk; small enough that the
# URL/id IN-list stays far below SQLite's 32,766-variable limit.
CHUNK_SIZE = 5000
POST_FIELDS = (
    "views",
    "likes",
    "comments",
    "shares",
    "metrics_updated_at",
    "growth_per_hour",
    "next_refresh_at",
    "status",
    "status_reason",
    "failure_count",
    "last_failure_reason",
    "external_id",
    "canonical_url",
    "needs_resolution",
    "author_platform_id",
    "author_handle",
    "caption",
    "posted_at",
)


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did. ``inserted``/``updated``: snapshots new / already there (a reprocess);
    ``unmatched``: good items no post of the guild matched; ``errors``: error rows (matched or not);
    ``matched_post_ids``: posts that got an item (good or error); ``flagged``: findings stored."""

    inserted: int = 0
    updated: int = 0
    unmatched: int = 0
    errors: int = 0
    flagged: int = 0
    matched_post_ids: frozenset[int] = field(default_factory=frozenset)

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unmatched + other.unmatched,
            self.errors + other.errors,
            self.flagged + other.flagged,
            self.matched_post_ids | other.matched_post_ids,
        )


def ingest_items(
    *,
    guild_id: int,
    platform: str,
    items: Sequence[MetricsItem],
    captured_at: datetime,
    provider: str,
    run_id: str = "",
) -> IngestResult:
    """Store one dataset's normalized items for ``guild_id`` and update the posts they match.

    Items are matched by platform id, error rows (and short links) by the URL we submitted. Each
    matched good item becomes a snapshot at ``captured_at`` (upserted on (post, captured_at), so
    processing the same dataset twice, with the same ``captured_at``, changes and duplicates
    nothing); when it is the post's newest point, the post's latest numbers, growth, status and
    next_refresh_at move with it and the fraud signals run. All in one transaction, with a constant
    number of queries per ``CHUNK_SIZE`` items. Never raises for a bad item; never changes payouts.
    """
    result = IngestResult()
    with guild_scope(guild_id):
        for start in range(0, len(items), CHUNK_SIZE):
            batch = _Batch(guild_id, platform, captured_at, provider, run_id, timezone.now())
            result += batch.run(items[start : start + CHUNK_SIZE])
    log.info(
        "ingested",
        guild_id=guild_id,
        platform=platform,
        provider=provider,
        run_id=run_id,
        inserted=result.inserted,
        updated=result.updated,
        unmatched=result.unmatched,
        errors=result.errors,
    )
    return result


def ingest_dataset(
    *, guild_id: int, platform: str, raw_items: Sequence[Any], captured_at: datetime, provider: str, run_id: str = ""
) -> IngestResult:
    """Normalize raw Apify dataset items for ``platform`` and store them with ``ingest_items``."""
    items = [normalize_item(platform=platform, item=raw) for raw in raw_items]
    return ingest_items(
        guild_id=guild_id, platform=platform, items=items, captured_at=captured_at, provider=provider, run_id=run_id
    )


def fallback_next_refresh_at(*, post: Post, now: datetime, budget: Any = None) -> datetime:
    """Stand-in until ``tracking.scheduling.next_refresh_at`` exists: hourly for posts under 48 hours
    old, daily after that. The scheduler's function replaces it automatically once present."""
    born = post.posted_at or post.submitted_at or now
    return now + (timedelta(hours=1) if now - born < timedelta(hours=48) else timedelta(hours=24))


def _next_refresh_function():
    try:
        module = importlib.import_module("tracking.scheduling")
    except ImportError:
        return fallback_next_refresh_at
    return getattr(module, "next_refresh_at", fallback_next_refresh_at)


def _url_key(url: str | None) -> str:
    return (url or "").strip().rstrip("/").lower()


def _url_variants(url: str | None) -> list[str]:
    base = (url or "").strip().rstrip("/")
    return [base, base + "/"] if base else []


class _Batch:
    """One chunk of one ingest: reads once, decides in memory, writes once per table."""

    def __init__(self, guild_id, platform, captured_at, provider, run_id, now):
        self.guild_id, self.platform, self.captured_at = guild_id, platform, captured_at
        self.provider, self.run_id, self.now = provider, run_id, now
        self.next_refresh = _next_refresh_function()
        self.budget = budget_for(guild_id)
        self.snapshots: dict[int, VideoMetrics] = {}
        self.changed: dict[int, Post] = {}
        self.status_changes: list[PostStatusChange] = []
        self.signals: list[FraudSignal] = []
        self.notices: list[GuildNotification] = []
        self.errors = self.unmatched = 0

    def run(self, items: Sequence[MetricsItem]) -> IngestResult:
        posts = self._load_posts(items)
        matches = self._match(items, posts)
        if not matches:
            return IngestResult(unmatched=self.unmatched, errors=self.errors)
        ids = list(matches)
        # No IN-lists of post ids: the (guild, captured_at) and open-signal indexes answer these.
        at_this_time = VideoMetrics.objects.for_guild(self.guild_id).filter(captured_at=self.captured_at)
        existing = set(at_this_time.values_list("post_id", flat=True)) & set(ids)
        self.open_signals = set(
            FraudSignal.objects.for_guild(self.guild_id).filter(resolved_at__isnull=True).values_list("post_id", "kind")
        )
        for post, item in matches.values():
            self._apply(post, item)
        self._write()
        inserted = len(set(self.snapshots) - existing)
        return IngestResult(
            inserted=inserted,
            updated=len(self.snapshots) - inserted,
            unmatched=self.unmatched,
            errors=self.errors,
            flagged=len(self.signals),
            matched_post_ids=frozenset(ids),
        )

    # ------------------------------------------------------------------------------------ reading

    def _load_posts(self, items: Sequence[MetricsItem]) -> list[Post]:
        """By platform id (one indexed query); then the posts still waiting for their first scrape
        (short links: few) plus, by URL, the posts of items the ids did not place (error rows)."""
        ids = {i.external_id for i in items if i.external_id}
        mine = Post.objects.for_guild(self.guild_id).filter(platform=self.platform).select_related("profile")
        posts = list(mine.filter(external_id__in=ids)) if ids else []
        known = {p.external_id for p in posts if not p.needs_resolution}
        urls = {
            v
            for i in items
            if not i.ok or i.external_id not in known
            for u in (i.input_url, i.url)
            for v in _url_variants(u)
        }
        wanted = Q(needs_resolution=True)
        if urls:
            wanted |= Q(submitted_url__in=urls) | Q(canonical_url__in=urls)
        seen = {p.pk for p in posts}
        return posts + [p for p in mine.filter(wanted) if p.pk not in seen]

    def _match(self, items: Sequence[MetricsItem], posts: list[Post]) -> dict[int, tuple[Post, MetricsItem]]:
        """Post id → (post, item). Platform id first; the submitted URL for error rows and short links."""
        by_id = {p.external_id: p for p in posts if p.external_id and not p.needs_resolution}
        by_url = {}
        for p in posts:
            for u in (p.submitted_url, p.canonical_url):
                by_url.setdefault(_url_key(u), p)
        matches: dict[int, tuple[Post, MetricsItem]] = {}
        for item in items:
            post = by_id.get(item.external_id) if item.external_id else None
            pending = by_url.get(_url_key(item.input_url)) if item.ok and item.input_url else None
            if post is not None and pending is not None and pending.pk != post.pk and pending.needs_resolution:
                self._resolve(pending, item, by_id)  # a short link to a post already tracked: a duplicate
            if post is None:
                post = by_url.get(_url_key(item.input_url)) or (by_url.get(_url_key(item.url)) if item.error else None)
                if post is not None and item.ok and post.external_id != item.external_id:
                    post = self._resolve(post, item, by_id)
            if item.error:
                self.errors += 1
            if post is None:
                self.unmatched += 0 if item.error else 1
                continue
            kept = matches.get(post.pk)
            if kept is None or (kept[1].error and item.ok):  # a good row beats an error row
                matches[post.pk] = (post, item)
        return matches

    def _resolve(self, post: Post, item: MetricsItem, by_id: dict[str, Post]) -> Post | None:
        """A short link's first scrape names the post: adopt its id, or flag it as a duplicate."""
        if not post.needs_resolution:
            return None  # a URL match for a post whose id differs: not this post
        holder = by_id.get(item.external_id)
        if holder is not None and holder.pk != post.pk:
            self._transition(post, S.FLAGGED, f"Duplicate of post #{holder.pk}: both links are the same post.")
            post.needs_resolution = False
            self.changed[post.pk] = post
            return None
        post.external_id = item.external_id
        post.canonical_url = (item.url or post.canonical_url)[:2048]
        post.needs_resolution = False
        by_id[item.external_id] = post
        self.changed[post.pk] = post
        return post

    # ------------------------------------------------------------------------------------ deciding

    def _apply(self, post: Post, item: MetricsItem) -> None:
        self.changed[post.pk] = post
        if item.error:
            self._apply_error(post, item)
        else:
            self._apply_numbers(post, item)
        if post.status not in (S.FINALIZED, S.REJECTED):
            post.next_refresh_at = self.next_refresh(post=post, now=self.now, budget=self.budget)

    def _apply_error(self, post: Post, item: MetricsItem) -> None:
        if item.unavailable:
            finding = unavailable_finding(error=item.error or "unavailable")
            self._record(post, [finding])
            self._transition(post, S.UNAVAILABLE, finding.reason)
            return
        post.failure_count += 1
        post.last_failure_reason = (item.error or "")[:500]

    def _apply_numbers(self, post: Post, item: MetricsItem) -> None:
        self.snapshots[post.pk] = VideoMetrics(
            guild_id=self.guild_id,
            post_id=post.pk,
            captured_at=self.captured_at,
            views=item.views,
            likes=item.likes,
            comments=item.comments,
            shares=item.shares,
            saves=item.saves,
            provider=self.provider,
            apify_run_id=(self.run_id or "")[:32],
            source_field=(item.views_source or "")[:40],
            rounded=item.rounded,
        )
        if post.metrics_updated_at is not None and self.captured_at <= post.metrics_updated_at:
            return  # an older or the same point (a reprocess): the post's latest numbers stay
        previous = None
        if post.metrics_updated_at is not None:
            previous = Point(post.views, post.likes, post.comments, post.metrics_updated_at)
        current = Point(item.views, item.likes, item.comments, self.captured_at, item.rounded)
        findings = detect_signals(previous=previous, current=current)
        findings += self._ownership(post, item)
        post.growth_per_hour = _growth(post, previous, current)
        post.views, post.likes, post.comments = item.views, item.likes, item.comments
        post.shares = item.shares
        post.metrics_updated_at = self.captured_at
        post.failure_count, post.last_failure_reason = 0, ""
        post.caption = post.caption or (item.caption or "")
        post.posted_at = post.posted_at or item.posted_at
        recorded = self._record(post, findings)
        flags = [f for f in recorded if f.flags_post]
        if flags:
            self._transition(post, S.FLAGGED, " ".join(f.reason for f in flags))
        elif post.status == S.SUBMITTED:
            self._transition(post, S.TRACKING, "First numbers received.")
        elif post.status == S.UNAVAILABLE:
            self._transition(post, S.TRACKING, "The post is available again.")

    def _ownership(self, post: Post, item: MetricsItem) -> list[Finding]:
        """On the first scrape that names the author, compare it with the linked profile."""
        if post.author_platform_id or post.author_handle or not (item.author_id or item.author_handle):
            return []
        post.author_platform_id = (item.author_id or "")[:64]
        post.author_handle = (item.author_handle or "")[:100]
        profile = post.profile
        if item.author_id and profile.platform_user_id:
            same = item.author_id == profile.platform_user_id
        elif item.author_handle:
            same = item.author_handle.lstrip("@").lower() == profile.handle.lstrip("@").lower()
        else:
            return []  # only an id, and the profile has none yet: nothing to compare
        if same:
            return []
        return [ownership_finding(author=item.author_handle or item.author_id or "?", profile_handle=profile.handle)]

    def _record(self, post: Post, findings: Iterable[Finding]) -> list[Finding]:
        """Queue a FraudSignal and a logs-channel message per finding not already open for the post."""
        kept = []
        for finding in findings:
            if (post.pk, finding.kind) in self.open_signals:
                continue
            self.open_signals.add((post.pk, finding.kind))
            kept.append(finding)
            self.signals.append(
                FraudSignal(guild_id=self.guild_id, post_id=post.pk, kind=finding.kind, reason=finding.reason[:500])
            )
            self.notices.append(
                GuildNotification(
                    guild_id=self.guild_id,
                    channel=GuildNotification.Channel.LOGS,
                    kind="flagged" if finding.flags_post else "unavailable",
                    event_key=f"signal:{post.pk}:{finding.kind}:{int(self.captured_at.timestamp())}"[:120],
                    title=f"Post #{post.pk} needs review: {FraudSignal.Kind(finding.kind).label}"[:256],
                    body=f"{finding.reason}\n{post.canonical_url}",
                )
            )
        return kept

    def _transition(self, post: Post, to_status: str, reason: str) -> None:
        """``tracking.lifecycle.transition_post`` in bulk form: same rules, one history row each."""
        if post.status == to_status or to_status not in ALLOWED.get(post.status, frozenset()):
            return
        self.status_changes.append(
            PostStatusChange(
                guild_id=self.guild_id,
                post_id=post.pk,
                from_status=post.status,
                to_status=to_status,
                reason=reason[:500],
                actor=ACTOR,
            )
        )
        post.status, post.status_reason = to_status, reason[:500]

    # ------------------------------------------------------------------------------------ writing

    def _write(self) -> None:
        snapshot_updates = (
            "views",
            "likes",
            "comments",
            "shares",
            "saves",
            "provider",
            "apify_run_id",
            "source_field",
            "rounded",
        )
        bulk_insert(
            VideoMetrics,
            list(self.snapshots.values()),
            on_conflict=("post", "captured_at"),
            update_fields=snapshot_updates,
        )
        bulk_update(Post, list(self.changed.values()), POST_FIELDS)
        bulk_insert(PostStatusChange, self.status_changes)
        bulk_insert(FraudSignal, self.signals)
        bulk_insert(GuildNotification, self.notices, on_conflict=("guild", "event_key"))


def _growth(post: Post, previous: Point | None, current: Point) -> float:
    """Views gained per hour since the previous point (since posting, for the first point)."""
    if current.views is None:
        return post.growth_per_hour
    if previous is not None and previous.views is not None and previous.at is not None:
        hours = (current.at - previous.at).total_seconds() / 3600
        return max(0.0, (current.views - previous.views) / hours) if hours > 0 else post.growth_per_hour
    born = post.posted_at
    if born is None or current.at is None:
        return 0.0
    return current.views / max(1.0, (current.at - born).total_seconds() / 3600)


# ------------------------------------------------------------------------------------------------
# Set-based writes over a JSON row set: one statement for any number of rows, on both backends.
# ------------------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row_source(fields: Sequence[models.Field]) -> str:
    """A FROM item named ``r`` with one column per field, read from one JSON-array parameter."""
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        columns = ", ".join(f"{qn(f.column)} {f.db_type(connection)}" for f in fields)
        return f"jsonb_to_recordset(%s::jsonb) AS r({columns})"
    columns = ", ".join(f"json_extract(value, '$.{f.column}') AS {qn(f.column)}" for f in fields)
    return f"(SELECT {columns} FROM json_each(%s)) AS r"


def _rows(objs: Sequence[models.Model], fields: Sequence[models.Field], *, add: bool) -> str:
    """The objects as a JSON array. Values go through the backend's datetime adapter only: every
    other field written here (integers, strings, booleans, floats) is stored as it is, and skipping
    get_db_prep_save per value is most of the speed on large datasets."""
    adapt = connection.ops.adapt_datetimefield_value
    stamped = [f for f in fields if add and getattr(f, "auto_now_add", False)]
    for obj in objs if stamped else ():
        for f in stamped:
            f.pre_save(obj, add)
    names = [(f.column, f.attname) for f in fields]
    rows = []
    for obj in objs:
        row = {}
        for column, attname in names:
            value = getattr(obj, attname)
            if isinstance(value, datetime):
                value = adapt(value)
            row[column] = _json_value(value)
        rows.append(row)
    return json.dumps(rows)


def bulk_insert(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    on_conflict: Sequence[str] = (),
    update_fields: Sequence[str] = (),
) -> None:
    """INSERT every object in one statement. ``on_conflict`` names the unique fields: with
    ``update_fields`` the existing row takes the new values, without them the new row is dropped."""
    if not objs:
        return
    qn, meta = connection.ops.quote_name, model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    columns = ", ".join(qn(f.column) for f in fields)
    sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) SELECT {columns} FROM {_row_source(fields)} WHERE true"
    if on_conflict:
        target = ", ".join(qn(meta.get_field(n).column) for n in on_conflict)
        if update_fields:
            sets = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in (meta.get_field(n).column for n in update_fields))
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_rows(objs, fields, add=True)])


def bulk_update(model: type[models.Model], objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """UPDATE ``field_names`` of every object (matched by primary key) in one statement."""
    if not objs:
        return
    qn, meta = connection.ops.quote_name, model._meta
    pk = meta.pk
    fields = [meta.get_field(n) for n in field_names]
    table = qn(meta.db_table)
    sets = ", ".join(f"{qn(f.column)} = r.{qn(f.column)}" for f in fields)
    sql = (
        f"UPDATE {table} SET {sets} FROM {_row_source([pk, *fields])} WHERE {table}.{qn(pk.column)} = r.{qn(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_rows(objs, [pk, *fields], add=False)])
