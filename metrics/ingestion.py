"""Storing measurements: one dataset in, snapshots and each post's latest numbers out, in bulk.

``ingest_items`` is the one write path for numbers, whatever brought them (an Apify run, a YouTube
``videos.list`` batch, an imported dataset). A dataset of any size costs a constant number of
queries: every write is one ``INSERT ... SELECT`` or ``UPDATE ... FROM`` over a staged row set, so
there are no per-row statements and no backend batch limits (Django's SQLite bulk_create splits at
999 parameters). On PostgreSQL the large row sets (snapshots, post updates, status history) are
staged with ``COPY`` into temporary tables created ``ON COMMIT DROP`` inside the ingest's
transaction (COPY cannot write to a table under row-level security, and ``INSERT ... SELECT`` from
the stage goes through the guild policy's WITH CHECK like any insert); on SQLite they are one JSON
array read with ``json_each``. Posts are read as plain tuples into a small slotted class, not
model instances (see bench/ingest.py for the throughput goal).
"""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Func, Q
from django.utils import timezone

from core.bulk import bulk_insert, column_in
from core.tenancy import guild_scope
from guilds.bot_events import bot_event
from guilds.budgets import budget_for
from guilds.creator_messages import creator_message
from guilds.models import BotCallback, CreatorMessage, Guild, GuildNotification
from integrations.apify.normalize import MetricsItem, normalize_item
from metrics.fraud import Finding, Point, Thresholds, detect_signals, ownership_finding, unavailable_finding
from metrics.models import VideoMetrics
from metrics.rollups import upsert_rollups_sql
from tracking import cadence
from tracking.captions import MAX_CAPTION_CHARS, caption_hash
from tracking.lifecycle import ALLOWED, review_event
from tracking.models import FraudSignal, Post, PostStatusChange
from tracking.platforms import registry
from tracking.platforms.items import thumbnail_url

log = structlog.get_logger(__name__)

ACTOR = "system:ingestion"
S = Post.Status
_FINAL = frozenset({S.FINALIZED, S.REJECTED})
# Items per round trip set. Large enough that a normal dataset is one chunk (per-chunk costs such as
# the scan for posts awaiting resolution are paid once); the id and URL lists are one parameter each
# (core.bulk.column_in), so no backend's placeholder limit bounds it — only the memory of one batch does.
CHUNK_SIZE = 50_000


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did. ``inserted``/``updated``: snapshots new / already there (a reprocess);
    ``unmatched``: good items no post of the guild matched; ``errors``: error rows (matched or not);
    ``matched_post_ids``: posts that got an item (good or error); ``flagged``: findings stored;
    ``refused``: items whose counts could not be read, which changed nothing (see Refusal)."""

    inserted: int = 0
    updated: int = 0
    unmatched: int = 0
    errors: int = 0
    flagged: int = 0
    matched_post_ids: frozenset[int] = field(default_factory=frozenset)
    refused: tuple[Refusal, ...] = ()

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unmatched + other.unmatched,
            self.errors + other.errors,
            self.flagged + other.flagged,
            self.matched_post_ids | other.matched_post_ids,
            self.refused + other.refused,
        )


@dataclass(frozen=True)
class Refusal:
    """One dataset item that was not stored: its position in the dataset, the post it names (None
    when it names none of the guild's posts) and why."""

    index: int
    post_id: int | None
    reason: str


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
    with guild_scope(guild_id), transaction.atomic(), _gc_paused():
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
    with _gc_paused():
        items = [normalize_item(platform=platform, item=raw) for raw in raw_items]
    return ingest_items(
        guild_id=guild_id, platform=platform, items=items, captured_at=captured_at, provider=provider, run_id=run_id
    )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a dataset is processed. A large dataset (the decoded JSON
    page, its items, the rows built from them) is hundreds of thousands of live containers; every
    collection the batch's allocations trigger walks all of them, which cost about a third of the
    Python time on 20,000 items. The batch creates no reference cycles, so nothing accumulates;
    reference counting still frees everything, and the collector's previous state is restored."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _url_key(url: str | None) -> str:
    return (url or "").strip().rstrip("/").lower()


def _url_variants(url: str | None) -> list[str]:
    base = (url or "").strip().rstrip("/")
    return [base, base + "/"] if base else []


# Columns read per post: what matching, the decisions and tracking.cadence.next_refresh_at use.
_POST_READ = (
    "id",
    "guild_id",
    "platform",
    "external_id",
    "needs_resolution",
    "submitted_url",
    "canonical_url",
    "status",
    "status_reason",
    "posted_at",
    "submitted_at",
    "views",
    "likes",
    "comments",
    "shares",
    "metrics_updated_at",
    "growth_per_hour",
    "counting_ends_at",
    "next_refresh_at",
    "failure_count",
    "last_failure_reason",
    "author_platform_id",
    "author_handle",
    "caption_hash",
    "creator_id",
)


class _Post:
    """A post as one ingest reads and changes it: plain attributes, none of a model's machinery
    (building 20,000 model instances was a third of a large dataset's time). ``extra`` marks a
    post whose rarely-changing columns (id resolution, author, posted_at) must be written; ``caption``
    is None unless a new scraped caption is to be stored (only its fingerprint, ``caption_hash``, is
    read: a caption whose fingerprint changed is stored and becomes due for its check); ``thumbnail``
    is the picture URL this scrape returned, or None to keep the stored one (it is never read)."""

    __slots__ = (
        *_POST_READ,
        "profile_handle",
        "profile_user_id",
        "creator_discord_id",
        "caption",
        "thumbnail",
        "extra",
    )

    def __init__(self, row: Sequence[Any]) -> None:
        (
            self.id,
            self.guild_id,
            self.platform,
            self.external_id,
            self.needs_resolution,
            self.submitted_url,
            self.canonical_url,
            self.status,
            self.status_reason,
            self.posted_at,
            self.submitted_at,
            self.views,
            self.likes,
            self.comments,
            self.shares,
            self.metrics_updated_at,
            self.growth_per_hour,
            self.counting_ends_at,
            self.next_refresh_at,
            self.failure_count,
            self.last_failure_reason,
            self.author_platform_id,
            self.author_handle,
            self.caption_hash,
            self.creator_id,
            self.profile_handle,
            self.profile_user_id,
            self.creator_discord_id,
        ) = row
        self.caption = None
        self.thumbnail = None
        self.extra = False

    @property
    def pk(self) -> int:
        return self.id


_DATETIMES = tuple(
    i for i, name in enumerate(_POST_READ) if isinstance(Post._meta.get_field(name), models.DateTimeField)
)


def _read_posts(queryset: models.QuerySet) -> list[_Post]:
    """The posts of ``queryset`` as _Post, unordered (_UrlIndex sorts when it matters). On PostgreSQL
    the datetimes come as ISO 8601 text (``to_json``: ISO whatever the session's DateStyle) parsed by
    ``datetime.fromisoformat``, in C: Django's timestamptz loader is pure Python and was the largest
    single cost of reading 20,000 posts. Same instants, aware, in the session's time zone (UTC)."""
    extra: dict[str, Any] = {}
    names = [*_POST_READ, "profile__handle", "profile__platform_user_id", "creator__discord_user_id"]
    queryset = queryset.order_by()  # no sort of wide rows in the database (it spilled to disk at 20,000)
    if connection.vendor != "postgresql":
        return [_Post(row) for row in queryset.annotate(**extra).values_list(*names)]
    for i in _DATETIMES:
        extra[f"_{_POST_READ[i]}_text"] = Func(
            F(_POST_READ[i]), template="to_json(%(expressions)s) #>> '{}'", output_field=models.TextField()
        )
        names[i] = f"_{_POST_READ[i]}_text"
    parse, positions, posts = datetime.fromisoformat, _DATETIMES, []
    for values in queryset.annotate(**extra).values_list(*names):
        row = list(values)
        for i in positions:
            if row[i] is not None:
                row[i] = parse(row[i])
        posts.append(_Post(row))
    return posts


class _UrlIndex:
    """Posts by submitted or canonical URL, built on the first lookup: a dataset whose items all match
    by platform id never needs it. A URL shared by several posts goes to the first in the order the
    posts were always listed: the id-matched posts, then the others, each newest-submitted first."""

    def __init__(self, *groups: list[_Post]) -> None:
        self.groups, self.by_url = groups, None

    def get(self, url: str | None) -> _Post | None:
        if self.by_url is None:
            self.by_url = {}
            for group in self.groups:
                for p in sorted(group, key=_submitted, reverse=True):
                    for u in (p.submitted_url, p.canonical_url):
                        self.by_url.setdefault(_url_key(u), p)
        return self.by_url.get(_url_key(url))


def _by_alias(item: MetricsItem, by_id: dict[str, _Post], provisional: dict[str, _Post]) -> _Post | None:
    """The post an item names by another of its ids: tracked under it, or submitted by a link that
    carried it (a provisional post, which the item then settles)."""
    for alias in item.aliases:
        post = by_id.get(alias) or provisional.get(alias)
        if post is not None:
            return post
    return None


def _provisional(post: _Post | None) -> _Post | None:
    """A URL match only counts for a post still waiting for its id (another post's URL is not this one)."""
    return post if post is not None and post.needs_resolution else None


def _submitted(post: _Post) -> datetime:
    return post.submitted_at


class _Batch:
    """One chunk of one ingest: reads once, decides in memory, writes once per table."""

    def __init__(self, guild_id, platform, captured_at, provider, run_id, now):
        self.guild_id, self.platform, self.captured_at = guild_id, platform, captured_at
        self.provider, self.run_id, self.now = provider, run_id, now
        self.run_id32 = (run_id or "")[:32]
        self.next_refresh = cadence.next_refresh_at
        self.budget = cadence.Cadence.of(budget_for(guild_id))  # resolved once, not once per post
        self._thresholds: Thresholds | None = None  # the guild's fraud thresholds, read when first needed
        self.snapshots: dict[int, tuple] = {}
        self.changed: dict[int, _Post] = {}
        self.status_changes: list[tuple] = []
        self.signals: list[FraudSignal] = []
        self.notices: list[GuildNotification] = []
        self.bot_events: list[tuple[str, _Post, str]] = []
        self.errors = self.unmatched = 0
        self.refused: list[Refusal] = []
        self.tz = UTC if settings.USE_TZ else None  # timezone.now() per history row, minus its settings lookup

    def run(self, items: Sequence[MetricsItem]) -> IngestResult:
        matches = self._match(items, *self._load_posts(items))
        if not matches:
            return IngestResult(unmatched=self.unmatched, errors=self.errors, refused=tuple(self.refused))
        ids = list(matches)
        # No IN-lists of post ids: the (guild, captured_at) and open-signal indexes answer these.
        at_this_time = VideoMetrics.objects.for_guild(self.guild_id).filter(captured_at=self.captured_at)
        existing = set(at_this_time.values_list("post_id", flat=True)) & set(ids)
        self.open_signals = set(
            FraudSignal.objects.for_guild(self.guild_id).filter(resolved_at__isnull=True).values_list("post_id", "kind")
        )
        apply_error, apply_numbers = self._apply_error, self._apply_numbers
        next_refresh, now, budget = self.next_refresh, self.now, self.budget
        changed = self.changed
        for post, item in matches.values():
            changed[post.id] = post
            if item.error:
                apply_error(post, item)
            else:
                apply_numbers(post, item)
            if post.status not in _FINAL:
                post.next_refresh_at = next_refresh(post=post, now=now, budget=budget)
        self._write()
        inserted = len(set(self.snapshots) - existing)
        return IngestResult(
            inserted=inserted,
            updated=len(self.snapshots) - inserted,
            unmatched=self.unmatched,
            errors=self.errors,
            flagged=len(self.signals),
            matched_post_ids=frozenset(ids),
            refused=tuple(self.refused),
        )

    # ------------------------------------------------------------------------------------ reading

    def _load_posts(self, items: Sequence[MetricsItem]) -> tuple[list[_Post], list[_Post]]:
        """By platform id (one indexed query); then the posts still waiting for their first scrape
        (short links: few) plus, by URL, the posts of items the ids did not place (error rows)."""
        ids = {i.external_id for i in items if i.external_id} | {a for i in items for a in i.aliases}
        mine = Post.objects.for_guild(self.guild_id).filter(platform=self.platform)
        posts = _read_posts(mine.filter(column_in(Post, "external_id", ids))) if ids else []
        known = {p.external_id for p in posts if not p.needs_resolution}
        urls = {
            v
            for i in items
            if not i.ok or i.external_id not in known
            for u in (i.input_url, i.url, i.alt_url)
            for v in _url_variants(u)
        }
        wanted = Q(needs_resolution=True)
        if urls:
            wanted |= column_in(Post, "submitted_url", urls) | column_in(Post, "canonical_url", urls)
        seen = {p.id for p in posts}
        return posts, [p for p in _read_posts(mine.filter(wanted)) if p.id not in seen]

    def _match(
        self, items: Sequence[MetricsItem], posts: list[_Post], others: list[_Post]
    ) -> dict[int, tuple[_Post, MetricsItem]]:
        """Post id → (post, item). Platform id first; the submitted URL for error rows and short links."""
        by_id = {
            p.external_id: p for group in (posts, others) for p in group if p.external_id and not p.needs_resolution
        }
        urls = _UrlIndex(posts, others)
        provisional = {
            p.external_id: p for group in (posts, others) for p in group if p.needs_resolution and p.external_id
        }
        pending_possible = any(p.needs_resolution for group in (posts, others) for p in group)
        matches: dict[int, tuple[_Post, MetricsItem]] = {}
        for index, item in enumerate(items):
            if item.refused:  # numbers we cannot read change nothing; the post is only named
                named = by_id.get(item.external_id) if item.external_id else urls.get(item.input_url)
                self.refused.append(Refusal(index, named.id if named else None, item.refused))
                continue
            post = by_id.get(item.external_id) if item.external_id else None
            if post is not None and pending_possible and item.ok and item.input_url:
                pending = urls.get(item.input_url)
                if pending is not None and pending.id != post.id and pending.needs_resolution:
                    self._resolve(pending, item, by_id)  # a short link to a post already tracked: a duplicate
            if post is None and item.aliases:
                post = _by_alias(item, by_id, provisional)  # tracked under an alias: not a mismatch
                if post is not None and item.ok and post.needs_resolution:
                    post = self._resolve(post, item, by_id)
            if post is None:
                post = urls.get(item.input_url) or (urls.get(item.url) if item.error else None)
                if post is None and item.ok:
                    post = _provisional(urls.get(item.url)) or _provisional(urls.get(item.alt_url))
                if post is not None and item.ok and post.external_id != item.external_id:
                    post = self._resolve(post, item, by_id)
            if item.error:
                self.errors += 1
            if post is None:
                self.unmatched += 0 if item.error else 1
                continue
            kept = matches.get(post.id)
            if kept is None or (kept[1].error and item.ok):  # a good row beats an error row
                matches[post.id] = (post, item)
        return matches

    def _resolve(self, post: _Post, item: MetricsItem, by_id: dict[str, _Post]) -> _Post | None:
        """A short link's first scrape names the post: adopt its id, or flag it as a duplicate."""
        if not post.needs_resolution:
            return None  # a URL match for a post whose id differs: not this post
        holder = by_id.get(item.external_id)
        post.extra = True
        if holder is not None and holder.id != post.id:
            self._transition(post, S.FLAGGED, f"Duplicate of post #{holder.id}: both links are the same post.")
            post.needs_resolution = False
            self.changed[post.id] = post
            return None
        post.external_id = item.external_id
        post.canonical_url = (item.url or post.canonical_url)[:2048]
        post.needs_resolution = False
        by_id[item.external_id] = post
        self.changed[post.id] = post
        return post

    # ------------------------------------------------------------------------------------ deciding

    @property
    def thresholds(self) -> Thresholds:
        """The guild's fraud thresholds: one query per batch, only when a post has a previous point."""
        if self._thresholds is None:
            self._thresholds = Thresholds.for_guild(self.guild_id)
        return self._thresholds

    def _apply_error(self, post: _Post, item: MetricsItem) -> None:
        if item.unavailable:
            finding = unavailable_finding(error=item.error or "unavailable")
            self._record(post, [finding])
            self._transition(post, S.UNAVAILABLE, finding.reason)
            return
        post.failure_count += 1
        post.last_failure_reason = (item.error or "")[:500]

    def _apply_numbers(self, post: _Post, item: MetricsItem) -> None:
        captured_at = self.captured_at
        self.snapshots[post.id] = (
            self.guild_id,
            post.id,
            captured_at,
            item.views,
            item.likes,
            item.comments,
            item.shares,
            item.saves,
            self.provider,
            self.run_id32,
            (item.views_source or "")[:40],
            item.rounded,
        )
        updated_at = post.metrics_updated_at
        if updated_at is not None and captured_at <= updated_at:
            if captured_at == updated_at:
                # The same point again (a reprocess): its snapshot is overwritten with these numbers,
                # and the post's own numbers stay its newest snapshot's (the leaderboard reads them for
                # "now", metrics.selectors). Nothing else is decided again.
                post.views, post.likes, post.comments = item.views, item.likes, item.comments
                post.shares = item.shares
            return  # an older point: the post's latest numbers stay
        previous = None
        if updated_at is not None:
            previous = Point(post.views, post.likes, post.comments, updated_at)
        current = Point(item.views, item.likes, item.comments, captured_at, item.rounded)
        findings = []
        if previous is not None:
            findings = detect_signals(previous=previous, current=current, thresholds=self.thresholds)
        if not (post.author_platform_id or post.author_handle) and (item.author_id or item.author_handle):
            findings += self._ownership(post, item)
        post.growth_per_hour = _growth(post, previous, current)
        post.views, post.likes, post.comments = item.views, item.likes, item.comments
        post.shares = item.shares
        post.metrics_updated_at = captured_at
        post.failure_count, post.last_failure_reason = 0, ""
        if item.caption:
            fingerprint = caption_hash(item.caption)
            if fingerprint != post.caption_hash:  # first seen, or edited: stored and due for its check
                post.caption, post.caption_hash = item.caption[:MAX_CAPTION_CHARS], fingerprint
        # Vendor picture links expire, so the newest one always replaces the stored one; checked again
        # here (https, bounded) whatever built the item.
        post.thumbnail = thumbnail_url(item.thumbnail_url) if item.thumbnail_url else None
        if post.posted_at is None and item.posted_at is not None:
            post.posted_at, post.extra = item.posted_at, True
        recorded = self._record(post, findings) if findings else findings
        flags = [f for f in recorded if f.flags_post]
        if flags:
            self._transition(post, S.FLAGGED, " ".join(f.reason for f in flags))
        elif post.status == S.SUBMITTED:
            self._transition(post, S.TRACKING, "First numbers received.")
        elif post.status == S.UNAVAILABLE:
            self._transition(post, S.TRACKING, "The post is available again.")

    def _ownership(self, post: _Post, item: MetricsItem) -> list[Finding]:
        """On the first scrape that names the author, compare it with the linked profile."""
        if post.author_platform_id or post.author_handle or not (item.author_id or item.author_handle):
            return []
        post.author_platform_id = (item.author_id or "")[:64]
        post.author_handle = (item.author_handle or "")[:100]
        post.extra = True
        if item.author_id and post.profile_user_id:
            same = item.author_id == post.profile_user_id
        elif item.author_handle:
            same = item.author_handle.lstrip("@").lower() == post.profile_handle.lstrip("@").lower()
        else:
            return []  # only an id, and the profile has none yet: nothing to compare
        if same:
            return []
        return [
            ownership_finding(author=item.author_handle or item.author_id or "?", profile_handle=post.profile_handle)
        ]

    def _record(self, post: _Post, findings: Iterable[Finding]) -> list[Finding]:
        """Queue a FraudSignal and a logs-channel message per finding not already open for the post."""
        kept = []
        for finding in findings:
            if (post.id, finding.kind) in self.open_signals:
                continue
            self.open_signals.add((post.id, finding.kind))
            kept.append(finding)
            self.signals.append(
                FraudSignal(guild_id=self.guild_id, post_id=post.id, kind=finding.kind, reason=finding.reason[:500])
            )
            self.notices.append(
                GuildNotification(
                    guild_id=self.guild_id,
                    channel=GuildNotification.Channel.LOGS,
                    kind="flagged" if finding.flags_post else "unavailable",
                    event_key=f"signal:{post.id}:{finding.kind}:{int(self.captured_at.timestamp())}"[:120],
                    title=f"Post #{post.id} needs review: {FraudSignal.Kind(finding.kind).label}"[:256],
                    body=f"{finding.reason}\n{post.canonical_url}",
                )
            )
        return kept

    def _transition(self, post: _Post, to_status: str, reason: str) -> None:
        """``tracking.lifecycle.transition_post`` in bulk form: same rules, one history row each, the
        same bot events."""
        if post.status == to_status or to_status not in ALLOWED.get(post.status, frozenset()):
            return
        self.status_changes.append(
            (self.guild_id, post.id, post.status, to_status, reason[:500], ACTOR, datetime.now(self.tz))
        )
        event = review_event(post.status, to_status)
        post.status, post.status_reason = to_status, reason[:500]
        if event:
            self.bot_events.append((event, post, reason))

    # ------------------------------------------------------------------------------------ writing

    def _write(self) -> None:
        posts = [
            (
                p.id,
                p.views,
                p.likes,
                p.comments,
                p.shares,
                p.metrics_updated_at,
                p.growth_per_hour,
                p.next_refresh_at,
                p.status,
                p.status_reason,
                p.failure_count,
                p.last_failure_reason,
                p.extra,
                *(
                    (
                        p.external_id,
                        p.canonical_url,
                        p.needs_resolution,
                        p.author_platform_id,
                        p.author_handle,
                        p.posted_at,
                    )
                    if p.extra
                    else _NO_EXTRA
                ),
                *((p.caption, p.caption_hash, UNCHECKED) if p.caption is not None else _NO_CAPTION),
                p.thumbnail,
            )
            for p in self.changed.values()
        ]
        with connection.cursor() as cursor:
            staging = _Staging(cursor)
            snapshots = staging.add(VideoMetrics, _SNAPSHOT_COLUMNS, list(self.snapshots.values()))
            updates = staging.add(Post, _POST_UPDATE_COLUMNS, posts)
            changes = staging.add(PostStatusChange, _STATUS_CHANGE_COLUMNS, self.status_changes)
            staging.load()
            if snapshots is not None:
                cursor.execute(_upsert_snapshots_sql(snapshots.source), snapshots.params)
                cursor.execute(upsert_rollups_sql(snapshots.source), snapshots.params)  # same rows, same transaction
            if updates is not None:
                cursor.execute(_update_posts_sql(updates.source), updates.params)
            if changes is not None:
                cursor.execute(_insert_status_changes_sql(changes.source), changes.params)
        bulk_insert(FraudSignal, self.signals)
        bulk_insert(GuildNotification, self.notices, on_conflict=("guild", "event_key"))
        events = [
            bot_event(event_type=event, payload=_event_payload(post, reason), guild_id=self.guild_id)
            for event, post, reason in self.bot_events
        ]
        bulk_insert(BotCallback, [e for e in events if e is not None])
        self._tell_creators()

    def _tell_creators(self) -> None:
        """Each post this ingest flagged or rejected tells its creator privately, once (as
        tracking.lifecycle.transition_post does for one post): one query for the guild's name, one
        insert."""
        told = [(event, post, reason) for event, post, reason in self.bot_events if event in _TOLD]
        if not told:
            return
        guild_name = Guild.objects.filter(pk=self.guild_id).values_list("name", flat=True).first() or ""
        stamp = self.captured_at.isoformat()
        rows = [
            creator_message(
                guild_id=self.guild_id,
                creator_id=post.creator_id,
                discord_user_id=post.creator_discord_id,
                kind=event.removeprefix("post."),
                event_key=f"post:{post.id}:{post.status}:{stamp}",
                platform=registry.get(post.platform).label,
                url=post.canonical_url,
                reason=reason[:500],
                guild_name=guild_name,
            )
            for event, post, reason in told
        ]
        bulk_insert(CreatorMessage, rows, on_conflict=("guild", "event_key"))


_TOLD = frozenset({"post.flagged", "post.rejected"})


def _event_payload(post: _Post, reason: str) -> dict[str, Any]:
    """tracking.lifecycle.post_event_payload, from an ingest's plain post."""
    return {
        "post_id": post.id,
        "discord_user_id": post.creator_discord_id,
        "platform": post.platform,
        "url": post.canonical_url,
        "status": post.status,
        "reason": reason[:500],
    }


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
# Staged row sets for the large writes: tuples in, one statement per table out.
# ------------------------------------------------------------------------------------------------

_STAGE_IDS = itertools.count(1)
_SNAPSHOT_COLUMNS = (
    "guild_id",
    "post_id",
    "captured_at",
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
_POST_CORE = (
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
)
# Written only for posts whose ``extra`` is set (short-link resolution, first author, posted_at).
_POST_EXTRA = ("external_id", "canonical_url", "needs_resolution", "author_platform_id", "author_handle", "posted_at")
_NO_EXTRA = (None,) * len(_POST_EXTRA)
_NO_CAPTION = (None, None, None)
UNCHECKED = Post.CaptionVerdict.UNCHECKED.value
_EXTRA_FLAG = "write_extra"
# caption, caption_hash and caption_verdict are NULL in the stage unless the caption changed;
# thumbnail_url is NULL unless the scrape returned a picture (NULL keeps the stored one).
_KEPT_UNLESS_SENT = ("caption", "caption_hash", "caption_verdict", "thumbnail_url")
_POST_UPDATE_COLUMNS = ("id", *_POST_CORE, _EXTRA_FLAG, *_POST_EXTRA, *_KEPT_UNLESS_SENT)
_STATUS_CHANGE_COLUMNS = ("guild_id", "post_id", "from_status", "to_status", "reason", "actor", "created_at")


# Column types of the staged tables → psycopg's names for their binary COPY format (binary COPY is
# more than twice as fast as text for both psycopg and the server).
_BINARY_TYPES = {
    "bigint": "int8",
    "integer": "int4",
    "smallint": "int2",
    "boolean": "bool",
    "double precision": "float8",
    "timestamp with time zone": "timestamptz",
    "varchar": "varchar",
    "text": "text",
}


@dataclass(frozen=True)
class _Staged:
    source: str  # a FROM item named r
    params: list[Any]


class _Staging:
    """Row sets (tuples) as FROM items named ``r``. PostgreSQL: temporary tables, all created by one
    statement, ``ON COMMIT DROP`` (they exist only inside the ingest's transaction and hold only this
    batch), filled with binary COPY, which adapts the values itself (datetimes included). SQLite: one
    JSON array per row set, read with ``json_each``."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.postgres = connection.vendor == "postgresql"
        self.pending: list[tuple[str, Sequence[str], list[str], list[tuple]]] = []

    def add(self, model: type[models.Model], columns: Sequence[str], rows: list[tuple]) -> _Staged | None:
        if not rows:
            return None
        if not self.postgres:
            return _Staged(_json_source(columns), [_json_rows(rows)])
        by_column = {f.column: f for f in model._meta.concrete_fields}
        types = ["boolean" if c == _EXTRA_FLAG else by_column[c].db_type(connection) for c in columns]
        table = f"ingest_stage_{next(_STAGE_IDS)}"
        self.pending.append((table, columns, types, rows))
        return _Staged(f"{table} AS r", [])

    def load(self) -> None:
        """Create every staged table in one statement, then COPY each one's rows in."""
        if not self.pending:
            return
        qn = connection.ops.quote_name
        tables = [
            f"CREATE TEMPORARY TABLE {table} ({', '.join(f'{qn(c)} {t}' for c, t in zip(columns, types, strict=True))})"
            for table, columns, types, _ in self.pending
        ]
        self.cursor.execute("; ".join(f"{t} ON COMMIT DROP" for t in tables))
        raw = self.cursor.cursor  # psycopg's cursor under Django's wrapper
        for table, columns, types, rows in self.pending:
            with raw.copy(f"COPY {table} ({', '.join(qn(c) for c in columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([_BINARY_TYPES[t.split("(")[0]] for t in types])
                write = copy.write_row
                for row in rows:
                    write(row)
        self.pending = []


def _json_source(columns: Sequence[str]) -> str:
    qn = connection.ops.quote_name
    values = ", ".join(f"json_extract(value, '$[{i}]') AS {qn(c)}" for i, c in enumerate(columns))
    return f"(SELECT {values} FROM json_each(%s)) AS r"


def _json_rows(rows: Sequence[tuple]) -> str:
    adapt = connection.ops.adapt_datetimefield_value
    return json.dumps([[adapt(v) if isinstance(v, datetime) else v for v in row] for row in rows])


def _upsert_snapshots_sql(source: str) -> str:
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in _SNAPSHOT_COLUMNS)
    sets = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in _SNAPSHOT_COLUMNS[3:])
    table = qn(VideoMetrics._meta.db_table)
    return (
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {source} WHERE true"
        f' ON CONFLICT ("post_id", "captured_at") DO UPDATE SET {sets}'
    )


def _update_posts_sql(source: str) -> str:
    qn = connection.ops.quote_name
    table = qn(Post._meta.db_table)
    sets = [f"{qn(c)} = r.{qn(c)}" for c in _POST_CORE]
    sets += [f"{qn(c)} = CASE WHEN r.{_EXTRA_FLAG} THEN r.{qn(c)} ELSE {table}.{qn(c)} END" for c in _POST_EXTRA]
    sets += [f'"{c}" = COALESCE(r."{c}", {table}."{c}")' for c in _KEPT_UNLESS_SENT]
    return f'UPDATE {table} SET {", ".join(sets)} FROM {source} WHERE {table}."id" = r."id"'


def _insert_status_changes_sql(source: str) -> str:
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in _STATUS_CHANGE_COLUMNS)
    return f"INSERT INTO {qn(PostStatusChange._meta.db_table)} ({columns}) SELECT {columns} FROM {source} WHERE true"
