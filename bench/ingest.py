"""Ingestion throughput against raw COPY into the same table, side by side, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ingest .venv/bin/python bench/ingest.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ingest .venv/bin/python bench/ingest.py --items 20000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ingest .venv/bin/python bench/ingest.py --sizes 100,10000

Creates a throwaway database next to DATABASE_URL's (``bench_ingest_<pid>``; the role needs CREATEDB),
migrates it and, for each size N (``--sizes``, default 100, 10,000 and 100,000; ``--items N`` = one size),
writes ``--repeat`` identical guilds (default 2) with N TikTok posts each, then times, round by round
(one round per guild, ingest and COPY interleaved so drift on a shared machine does not bias the ratio:
ingest first, COPY, ingest steady, COPY):

1. ingest: N synthetic clockworks/tiktok-scraper items (shaped like tests/fixtures/apify/tiktok_item.json)
   through normalization and metrics.ingestion.ingest_dataset (snapshots upserted, posts' latest numbers,
   status, growth, next_refresh_at, status history and fraud signals written) — first measurement, then a
   second measurement an hour later (the steady state);
2. COPY: the same N rows, already normalized, straight into metrics_videometrics with psycopg's
   cursor.copy — the floor no application code can beat.

Each ingest is also broken down by phase (every statement timed by the table it writes, the staging load,
COMMIT, and the Python left over), printed for the best first and steady runs, and one more COPY round
writes the same rows into an index-less temporary copy of the table (COMMIT excluded): what COPY pays
for the table's indexes and WAL.

Every measurement is one transaction, timed from its start to the end of its COMMIT (deferred foreign-key
checks and the WAL flush included), for both sides alike. Each measurement runs once per guild and the
best run is reported (the machine is shared: the best of identical runs is the least noisy estimate);
every run is printed. Prints rows per second and ingest/COPY per size, then a summary line of the ratios
for every size (the goal in DESIGN.md §10: at least 0.25; issue 17: 0.5), then drops the database.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "apify" / "tiktok_item.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, help="One size: dataset items (and posts per guild) to ingest.")
    parser.add_argument(
        "--sizes", default="100,10000,100000", help="Comma-separated sizes, measured in turn (default %(default)s)."
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="Identical guilds, so each measurement runs this often (best reported)."
    )
    args = parser.parse_args()
    try:
        sizes = [args.items] if args.items is not None else [int(x) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        print("bench/ingest.py: --sizes takes comma-separated whole numbers, e.g. 100,10000", file=sys.stderr)
        return 2
    if not sizes or min(sizes) < 1 or max(sizes) > 1_000_000 or args.repeat < 1:
        print("bench/ingest.py: --items and --sizes entries are 1..1,000,000, --repeat at least 1", file=sys.stderr)
        return 2
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        print("bench/ingest.py needs DATABASE_URL=postgres://... (PostgreSQL)", file=sys.stderr)
        return 2
    import psycopg

    name = f"bench_ingest_{os.getpid()}"
    parts = urlsplit(base)
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))  # the maintenance db
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        return run(sizes, args.repeat)
    finally:
        _close_django()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _close_django() -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: BLE001 - Django may not be set up if creation failed
        pass


def run(sizes: list[int], repeat: int) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracking.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ["LOG_LEVEL"] = "ERROR"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    ratios = []
    for index, n in enumerate(sizes):
        ratios.append((n, *_measure_size(n, repeat, index)))
    summary = "; ".join(f"{n:,} items: first {first:.2f}, steady {steady:.2f}" for n, first, steady in ratios)
    print(f"ratio ingest/COPY by size: {summary}")
    return 0


def _measure_size(n: int, repeat: int, index: int) -> tuple[float, float]:
    """``repeat`` rounds for N items, ingest and COPY interleaved within each round."""
    guilds = [_setup(n, index * 100 + k) for k in range(repeat)]
    t1 = datetime(2030, 1, 1, tzinfo=UTC)
    first, steady, copied, bare = [], [], [], []
    first_clocks, steady_clocks = [], []
    for guild_id, posts in guilds:
        items = _items(posts)
        first.append(_time_ingest(guild_id, items, t1, first_clocks))
        copied.append(_time_copy(guild_id, posts, items, t1 + timedelta(minutes=30)))
        for item in items:  # an hour later, organic growth
            item["playCount"] += 1000
            item["diggCount"] += 80
        steady.append(_time_ingest(guild_id, items, t1 + timedelta(hours=1), steady_clocks))
        copied.append(_time_copy(guild_id, posts, items, t1 + timedelta(minutes=90)))
        bare.append(_time_copy(guild_id, posts, items, t1 + timedelta(minutes=100), bare_table=True))
    print(f"items: {n:,} per run; each measurement is one transaction including its COMMIT; best of {repeat} rounds")
    for label, times in (
        ("ingest (first measurement)", first),
        ("ingest (steady state)", steady),
        ("raw COPY", copied),
    ):
        runs = ", ".join(f"{t:.3f}" for t in times)
        print(f"{label + ':':<29}{n / min(times):>10,.0f} rows/s  ({min(times):.3f} s; runs: {runs} s)")
    print(
        f"{'raw COPY, no indexes:':<29}{n / min(bare):>10,.0f} rows/s  ({min(bare):.3f} s; the same rows into an "
        "index-less temporary copy of the table, COMMIT excluded: what indexes, checks and WAL cost COPY)"
    )
    for label, clocks in (("first", first_clocks), ("steady", steady_clocks)):
        total, clock = min(clocks, key=lambda pair: pair[0])
        _print_phases(f"the best {label} ingest", n, clock, total)
    best_copy = min(copied)
    ratio_first, ratio_steady = best_copy / min(first), best_copy / min(steady)
    print(f"ratio ingest/COPY: first {ratio_first:.2f}, steady {ratio_steady:.2f} (goal >= 0.25; issue 17: 0.5)")
    return ratio_first, ratio_steady


_PHASES = (
    ("staging", "staging: CREATE TEMP + binary COPY"),
    ("snapshots", "snapshot upsert (metrics_videometrics)"),
    ("rollups", "rollup upsert (metrics_postdailyrollup)"),
    ("posts", "post UPDATE (tracking_post)"),
    ("history", "status history INSERT"),
    ("reads", "reads (posts, existing snapshots, signals, budget)"),
    ("other", "other writes (signals, notices, callbacks)"),
    ("commit", "COMMIT (deferred FK checks, WAL flush)"),
    ("python", "Python (normalize, decide, feed COPY)"),
)


class _PhaseClock:
    """Times every statement one ingest sends, by what it writes (a Django execute wrapper, plus the
    staging load, whose COPYs go straight to psycopg); Python is whatever is left of the total."""

    def __init__(self):
        self.spent = dict.fromkeys((key for key, _ in _PHASES), 0.0)
        self.staging = False

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if not self.staging:
                self.spent[self._phase(sql)] += time.perf_counter() - start

    @staticmethod
    def _phase(sql: str) -> str:
        head = sql.lstrip()[:60].upper()
        if head.startswith(("SELECT", "WITH", "SAVEPOINT", "RELEASE")):
            return "reads"
        for table, key in (
            ("METRICS_VIDEOMETRICS", "snapshots"),
            ("METRICS_POSTDAILYROLLUP", "rollups"),
            ("TRACKING_POSTSTATUSCHANGE", "history"),
            ("TRACKING_POST", "posts"),
        ):
            if table in head:
                return key
        return "other"

    @contextmanager
    def around_staging(self, load):
        def timed(staging):
            self.staging = True
            start = time.perf_counter()
            try:
                return load(staging)
            finally:
                self.staging = False
                self.spent["staging"] += time.perf_counter() - start

        yield timed


def _print_phases(label: str, n: int, clock: _PhaseClock, total: float) -> None:
    spent = dict(clock.spent)
    spent["python"] = max(0.0, total - sum(v for k, v in spent.items() if k != "python"))
    parts = ", ".join(f"{title} {spent[key] * 1000:.0f} ms" for key, title in _PHASES if spent[key] >= 0.0005)
    print(f"  where {label} went ({n:,} items, {total:.3f} s): {parts}")


def _vacuum() -> None:
    """VACUUM ANALYZE before every measurement (untimed), as autovacuum would between two datasets in
    production, so no run pays for the previous run's dead rows or plans with stale statistics."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tracking_post, metrics_videometrics, tracking_poststatuschange")


def _setup(n: int, k: int):
    from core.tenancy import rls_bypass
    from guilds.models import Creator, Guild, GuildBudgetConfig
    from tracking.models import ClientAccount, Post, Profile

    with rls_bypass(reason="bench setup"):
        guild = Guild.objects.create(id=1300000000000000000 + k, name=f"Bench {k}")
        GuildBudgetConfig.objects.create(guild=guild)
        creator = Creator.objects.create(guild=guild, discord_user_id=str(1200000000000000000 + k), username="bench")
        profile = Profile.objects.create(guild=guild, creator=creator, platform="tiktok", handle="ohmyshop.store")
        client = ClientAccount.objects.create(guild=guild, name="Brand")
        rows = []
        for i in range(n):
            ext = str(7_600_000_000_000_000_000 + k * 1_000_000 + i)
            url = f"https://www.tiktok.com/@ohmyshop.store/video/{ext}"
            rows.append(
                Post(
                    guild=guild,
                    creator=creator,
                    profile=profile,
                    client_account=client,
                    platform="tiktok",
                    external_id=ext,
                    submitted_url=url,
                    canonical_url=url,
                    status="submitted",
                )
            )
        posts = Post.objects.bulk_create(rows, batch_size=2000)
    return guild.id, posts


def _items(posts) -> list[dict]:
    sample = json.loads(SAMPLE.read_text())
    sample.pop("_note", None)
    items = []
    for i, post in enumerate(posts):
        item = copy.deepcopy(sample)
        item.update(
            id=post.external_id,
            webVideoUrl=post.canonical_url,
            submittedVideoUrl=post.submitted_url,
            playCount=10_000 + i,
            diggCount=800 + i % 100,
            commentCount=20,
            shareCount=3,
        )
        items.append(item)
    return items


def _time_ingest(guild_id: int, items: list[dict], at: datetime, clocks: list | None = None) -> float:
    from django.db import connection, transaction

    from metrics import ingestion

    raw = copy.deepcopy(items)  # what json.loads of the dataset page would give
    _vacuum()
    clock = _PhaseClock()
    load = ingestion._Staging.load
    with clock.around_staging(load) as timed_load, connection.execute_wrapper(clock):
        ingestion._Staging.load = timed_load
        try:
            start = time.perf_counter()
            with transaction.atomic():
                result = ingestion.ingest_dataset(
                    guild_id=guild_id,
                    platform="tiktok",
                    raw_items=raw,
                    captured_at=at,
                    provider="apify",
                    run_id="benchrun",
                )
                before_commit = time.perf_counter()
            elapsed = time.perf_counter() - start
        finally:
            ingestion._Staging.load = load
    clock.spent["commit"] = elapsed - (before_commit - start)
    assert result.inserted == len(items), result
    if clocks is not None:
        clocks.append((elapsed, clock))
    return elapsed


def _time_copy(guild_id: int, posts, items: list[dict], at: datetime, *, bare_table: bool = False) -> float:
    from django.db import connection, transaction

    rows = [
        (
            guild_id,
            post.pk,
            at,
            item["playCount"],
            item["diggCount"],
            item["commentCount"],
            item["shareCount"],
            item["collectCount"],
            "apify",
            "benchrun",
            "playCount",
            False,
        )
        for post, item in zip(posts, items, strict=True)
    ]
    sql = (
        "COPY metrics_videometrics (guild_id, post_id, captured_at, views, likes, comments, shares, saves, "
        "provider, apify_run_id, source_field, rounded) FROM STDIN"
    )
    _vacuum()
    with transaction.atomic(), connection.cursor() as cursor:
        if bare_table:  # the same rows into a table without indexes, constraints, RLS or WAL
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_bare_snapshots "
                "(LIKE metrics_videometrics INCLUDING DEFAULTS INCLUDING IDENTITY) ON COMMIT DROP"
            )
            sql = sql.replace("COPY metrics_videometrics", "COPY bench_bare_snapshots")
        start = time.perf_counter()
        with cursor.cursor.copy(sql) as copy_:  # the psycopg cursor under Django's wrapper
            for row in rows:
                copy_.write_row(row)
        if bare_table:
            elapsed = time.perf_counter() - start
            return elapsed
    elapsed = time.perf_counter() - start
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
