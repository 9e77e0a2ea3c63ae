"""Dashboard reads on a large guild against a plain read of the rollup table, and the posts list against a
bare DRF view returning the same body, side by side, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/reads.py --posts 20000 --snapshots 200000

Creates a throwaway database next to DATABASE_URL's (``bench_reads_<pid>``; the role needs CREATEDB and
CREATEROLE), migrates it, and builds with generate_series: a large guild of ``--posts`` posts by one
creator per 40 posts with ``--snapshots`` hourly snapshots spread over them (a third of the posts with
a counting window), and a small guild (100 posts, 48 snapshots each); then rebuilds the daily rollups
and VACUUM ANALYZEs (as autovacuum leaves production tables). Every read runs as a restricted role
(not superuser, not BYPASSRLS: row-level security applies), ``bench_reads_app_<pid>``, created for the
run and dropped with the database:

- in-process: the leaderboard (day, week, month, all: every row, as the CSV and bonuses read it),
  the week's first page of 50 as the API reads it (``leaderboard_page``), the overview's reads (period
  cards, the chart warm and cold, freshness), a post's series, and the small guild's week leaderboard;
- over HTTP through gunicorn (gunicorn.conf.py as production runs it, DEBUG off; ``--workers``, default
  its own 2 x cores + 1), with bench/settings.py (production settings plus bench/urls.py: every
  production URL and one bench-only bare view, never in a deployment): the bot API's week leaderboard
  (one page, one request at a time); then requests/s of the posts list (first page, 50 posts, as a
  service key with guilds.read) and of ``/bench/bare`` — a DRF view with no authentication, query or
  serializer returning the posts list's own body — with ``--concurrency`` clients (separate
  processes), in ``--rounds`` interleaved rounds of ``--seconds`` (posts, bare, posts, ...);
- the baseline: a plain SQL read of the rollup table (every post's row for one day).

Prints p50/p95 of each and its ratio to the baseline, the two request rates and their ratio (median of
each round's posts / the bare round after it); ``--json`` makes the last line one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
LARGE, SMALL = 1_310_000_000_000_000_001, 1_310_000_000_000_000_002
ROLE = f"bench_reads_app_{os.getpid()}"  # one per run: two runs at once must not share (or drop) it
BOT_KEY = "bench-reads-" + "k" * 24


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=20_000, help="Posts of the large guild (default 20,000).")
    parser.add_argument("--snapshots", type=int, default=10_000_000, help="Its snapshots (default 10,000,000).")
    parser.add_argument("--repeat", type=int, default=9, help="Timed runs of each read (p50/p95 over them).")
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default: gunicorn.conf.py's, 2 x cores + 1)."
    )
    parser.add_argument("--concurrency", type=int, default=8, help="Clients hitting the server at once (8).")
    parser.add_argument("--seconds", type=float, default=4.0, help="Length of one throughput round (4 s).")
    parser.add_argument("--rounds", type=int, default=5, help="Throughput rounds per side, interleaved (5).")
    parser.add_argument("--json", action="store_true", help="End with one line of JSON.")
    args = parser.parse_args()
    if args.posts < 40 or args.snapshots < args.posts or args.repeat < 2:
        print("bench/reads.py: --posts >= 40, --snapshots >= --posts, --repeat >= 2", file=sys.stderr)
        return 2
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        print("bench/reads.py needs DATABASE_URL=postgres://... (PostgreSQL)", file=sys.stderr)
        return 2
    import psycopg

    name = f"bench_reads_{os.getpid()}"
    parts = urlsplit(base)
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN "
            f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$;"
        )
    owner_url = urlunsplit(parts._replace(path=f"/{name}"))
    app_url = urlunsplit(parts._replace(netloc=f"{ROLE}@{parts.hostname}:{parts.port or 5432}", path=f"/{name}"))
    try:
        return run(args, owner_url, app_url)
    finally:
        _close_django()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"DROP ROLE IF EXISTS {ROLE}")


def _close_django() -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: BLE001 - Django may not be set up if creation failed
        pass


def run(args, owner_url: str, app_url: str) -> int:
    os.environ["DATABASE_URL"] = owner_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracking.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["DATABASE_APP_ROLE"] = ROLE
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # also grants ROLE access (DATABASE_APP_ROLE)
    started = time.perf_counter()
    build(args.posts, args.snapshots)
    print(f"built {args.posts:,} posts / {args.snapshots:,} snapshots in {time.perf_counter() - started:.0f} s")
    results = measure_in_process(args.repeat)
    with tempfile.TemporaryDirectory() as tmp, gunicorn_server(app_url, args.workers, Path(tmp) / "body.json") as port:
        results["http_week"] = measure_http(port, args.repeat)
        throughput = measure_throughput(
            port, Path(tmp) / "body.json", concurrency=args.concurrency, seconds=args.seconds, rounds=args.rounds
        )
    report(args, results, throughput)
    return 0


# --------------------------------------------------------------------------------------------- data


def build(posts: int, snapshots: int) -> None:
    from django.db import connection

    from core.tenancy import rls_bypass
    from metrics.rollups import rebuild_rollups

    with rls_bypass(reason="bench setup"), connection.cursor() as cursor:
        for guild_id, n, per_post in ((LARGE, posts, max(1, snapshots // posts)), (SMALL, 100, 48)):
            _build_guild(cursor, guild_id, n, per_post)
        rebuild_rollups()
        # As autovacuum leaves production tables: statistics, and the visibility map that lets the
        # rollups' covering index answer without the heap (ANALYZE alone left it unset: reads 25-40 %
        # slower right after the build, until autovacuum happened to pass).
        cursor.execute("VACUUM ANALYZE")


def _build_guild(cursor, guild_id: int, posts: int, per_post: int) -> None:
    creators = max(1, posts // 40)
    from guilds.models import Creator, Guild, GuildBudgetConfig
    from tracking.models import ClientAccount, Profile

    Guild.objects.create(id=guild_id, name=f"Bench {guild_id % 10}", timezone="UTC")
    GuildBudgetConfig.objects.create(guild_id=guild_id)
    client = ClientAccount.objects.create(guild_id=guild_id, name="Brand")
    made = Creator.objects.bulk_create(
        [
            Creator(guild_id=guild_id, discord_user_id=str(1_200_000_000_000_000_000 + i), username=f"c{i}")
            for i in range(creators)
        ]
    )
    Profile.objects.bulk_create(
        [Profile(guild_id=guild_id, creator=c, platform="tiktok", handle=f"h{c.pk}") for c in made]
    )
    # Post i went up (per_post + i % 240) hours ago and was measured hourly since; a third have a
    # 30-day counting window.
    cursor.execute(
        """
        INSERT INTO tracking_post (guild_id, creator_id, profile_id, client_account_id, platform, external_id,
            submitted_url, canonical_url, caption, caption_verdict, caption_reasons, caption_hash,
            author_platform_id, author_handle, posted_at, submitted_at, status, status_reason, views, likes,
            comments, shares, metrics_updated_at, next_refresh_at, failure_count, last_failure_reason,
            counting_ends_at, growth_per_hour, needs_resolution, thumbnail_url)
        SELECT %(guild)s, p.creator_id, p.id, %(client)s, 'tiktok', (%(guild)s::numeric * 1000000 + g)::text,
            'https://www.tiktok.com/@b/video/' || g, 'https://www.tiktok.com/@b/video/' || g,
            'Clip ' || g || ' of the summer drop: the new flavour tried on camera, link in bio #ad #brand '
            || '#summer #clip' || g %% 7, 'unchecked',
            '[]'::jsonb, '', '', 'b', t.went_up, t.went_up, 'tracking', '', %(per)s * 100, 0, 0, 0,
            t.went_up + (%(per)s - 1) * interval '1 hour', now() + interval '1 hour', 0, '',
            CASE WHEN g %% 3 = 0 THEN t.went_up + interval '30 days' END, 100, false, ''
        FROM generate_series(0, %(n)s - 1) g
        CROSS JOIN LATERAL (SELECT now() - (%(per)s + g %% 240) * interval '1 hour' AS went_up) t
        JOIN LATERAL (SELECT id, creator_id FROM tracking_profile WHERE guild_id = %(guild)s
                      ORDER BY id OFFSET g %% %(creators)s LIMIT 1) p ON true
        """,
        {"guild": guild_id, "client": client.pk, "per": per_post, "n": posts, "creators": creators},
    )
    cursor.execute(
        """
        INSERT INTO metrics_videometrics (guild_id, post_id, captured_at, views, likes, comments, shares,
            saves, provider, apify_run_id, source_field, rounded)
        SELECT p.guild_id, p.id, p.posted_at + h * interval '1 hour', h * 100 + p.id %% 97, h * 8, h, h / 10,
            NULL, 'demo', '', '', false
        FROM tracking_post p CROSS JOIN generate_series(0, %(per)s - 1) h
        WHERE p.guild_id = %(guild)s
        """,
        {"guild": guild_id, "per": per_post},
    )
    # each post's own numbers are its newest snapshot's, as ingestion keeps them
    cursor.execute(
        """
        UPDATE tracking_post SET views = (%(per)s - 1) * 100 + id %% 97, likes = (%(per)s - 1) * 8,
            comments = %(per)s - 1, shares = (%(per)s - 1) / 10
        WHERE guild_id = %(guild)s
        """,
        {"guild": guild_id, "per": per_post},
    )


# ------------------------------------------------------------------------------------ measuring


def _times(fn, repeat: int) -> list[float]:
    fn()  # warm-up (plans, caches)
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_in_process(repeat: int) -> dict[str, list[float]]:
    from django.core.cache import cache
    from django.db import connection
    from django.utils import timezone

    from core.tenancy import guild_scope
    from dashboard import selectors as pages
    from guilds.models import Guild
    from metrics.periods import period_bounds
    from metrics.selectors import leaderboard, leaderboard_page
    from tracking.models import Post

    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {ROLE}")  # row-level security applies from here on
    now = timezone.now()
    out: dict[str, list[float]] = {}
    with guild_scope(LARGE):
        guild = Guild.objects.select_related("budget").get(pk=LARGE)
        for period in ("day", "week", "month", "all"):
            start, end = period_bounds(period=period, now=now, tz=guild.tz)
            out[f"leaderboard_{period}"] = _times(
                lambda s=start, e=end: leaderboard(guild=guild, start=s, end=e), repeat
            )
        # what the API and the bot return: the first page of 50 with the whole guild's totals
        start, end = period_bounds(period="week", now=now, tz=guild.tz)
        out["leaderboard_week_page"] = _times(
            lambda: leaderboard_page(guild=guild, start=start, end=end, page=1, page_size=50), repeat
        )

        def overview(cold: bool):
            if cold:
                cache.clear()
            pages.period_changes(guild=guild, now=now)
            pages.daily_gains(guild=guild, now=now, today_gained=0)
            pages.freshness(guild=guild, now=now)

        out["overview"] = _times(lambda: overview(False), repeat)
        out["overview_cold_chart"] = _times(lambda: overview(True), max(2, repeat // 3))
        post = Post.objects.for_guild(LARGE).order_by("pk").first()
        out["series"] = _times(lambda: pages.post_series(post=post), repeat)
        day = (now - timedelta(days=1)).date()

        def rollup_baseline():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT post_id, views FROM metrics_postdailyrollup WHERE guild_id = %s AND day = %s",
                    [LARGE, day],
                )
                cursor.fetchall()

        out["rollup_baseline"] = _times(rollup_baseline, repeat)
    with guild_scope(SMALL):
        small = Guild.objects.get(pk=SMALL)
        start, end = period_bounds(period="week", now=now, tz=small.tz)
        out["small_leaderboard_week"] = _times(lambda: leaderboard(guild=small, start=start, end=end), repeat)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn_server(app_url: str, workers: int, body_file: Path) -> Iterator[int]:
    """gunicorn as production starts it (gunicorn.conf.py, DEBUG off, the restricted role), with the
    bench-only settings (bench/settings.py: every production URL plus ``/bench/bare``). Yields its port."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_BARE_BODY": str(body_file),
        "DATABASE_URL": app_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "JWT_SECRET": secrets.token_urlsafe(32),
        "API_SECRET": secrets.token_urlsafe(32),
        "API_SERVICE_KEYS": f"bench:{BOT_KEY}:bot.read|guilds.read",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "ERROR",
    }
    env.pop("WEB_CONCURRENCY", None)
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, local address only
        [gunicorn, "-c", "gunicorn.conf.py", "tracking.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(port, "/healthz", {})
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("bench/reads.py: gunicorn did not answer within 60 s") from None
                time.sleep(0.5)
        # Requests enough to reach every worker before anything is timed (first-request caches).
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda _: _get(port, "/api/v1/schema-warmup-404", {}), range(64)))
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def measure_http(port: int, repeat: int) -> list[float]:
    """The bot API's week leaderboard (first page), one request at a time."""
    path = f"/api/v1/bot/guilds/{LARGE}/leaderboard?period=week"
    headers = {"Authorization": f"Bearer {BOT_KEY}"}

    def fetch():
        status, _ = _get(port, path, headers)
        assert status == 200, status

    return _times(fetch, repeat)


POSTS_PATH = f"/api/v1/guilds/{LARGE}/posts"
BARE_PATH = "/bench/bare"


def _hammer(port: int, path: str, headers: dict[str, str], start_at: float, seconds: float) -> tuple[int, int]:
    """One client: requests back to back from ``start_at`` for ``seconds``; (answered 200, others)."""
    while time.time() < start_at:
        time.sleep(0.001)
    ok = failed = 0
    end = start_at + seconds
    while time.time() < end:
        status, _ = _get(port, path, headers)
        if status == 200:
            ok += 1
        else:
            failed += 1
    return ok, failed


def measure_throughput(port: int, body_file: Path, *, concurrency: int, seconds: float, rounds: int) -> dict:
    """Requests/s of the posts list (first page, as the service key) and of the bare view returning
    the same body, ``concurrency`` clients each, interleaved round by round (posts, bare, posts, ...)
    so that load changing during the run moves both sides."""
    headers = {"Authorization": f"Bearer {BOT_KEY}"}
    status, body = _get(port, POSTS_PATH, headers)
    if status != 200:
        raise SystemExit(f"bench/reads.py: the posts list answered {status}: {body[:300]!r}")
    body_file.write_bytes(body)
    bare_status, bare_body = _get(port, BARE_PATH, {})
    if bare_status != 200 or json.loads(bare_body) != json.loads(body):
        raise SystemExit("bench/reads.py: the bare view does not return the posts list's body")
    out: dict = {"body_bytes": len(body), "posts": [], "bare": []}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=concurrency, mp_context=context) as pool:
        list(pool.map(_get, [port] * concurrency, [BARE_PATH] * concurrency, [{}] * concurrency))  # warm up
        for _ in range(rounds):
            for side, path, hdrs in (("posts", POSTS_PATH, headers), ("bare", BARE_PATH, {})):
                start_at = time.time() + 0.5
                futures = [pool.submit(_hammer, port, path, hdrs, start_at, seconds) for _ in range(concurrency)]
                done = [f.result() for f in futures]
                failed = sum(f for _, f in done)
                if failed:
                    raise SystemExit(f"bench/reads.py: {failed} {side} requests did not answer 200")
                out[side].append(sum(ok for ok, _ in done) / seconds)
    return out


def report(args, r: dict[str, list[float]], throughput: dict) -> None:
    base = _p(r["rollup_baseline"], 0.95)
    print(f"{'read':<26}{'p50 ms':>10}{'p95 ms':>10}{'p95 / baseline':>16}")
    for key, times in r.items():
        print(f"{key:<26}{statistics.median(times):>10.1f}{_p(times, 0.95):>10.1f}{_p(times, 0.95) / base:>16.1f}")
    posts_rps, bare_rps = statistics.median(throughput["posts"]), statistics.median(throughput["bare"])
    # Each posts round against the bare round right after it: load that drifts moves both.
    ratio = statistics.median(p / b for p, b in zip(throughput["posts"], throughput["bare"], strict=True))
    print(
        f"requests/s over HTTP, {args.concurrency} clients, {args.rounds} rounds of {args.seconds:g} s each "
        f"(body {throughput['body_bytes']:,} bytes):"
    )
    for side, label in (("posts", "posts list (page 1)"), ("bare", "bare DRF view")):
        rounds = " ".join(f"{x:.0f}" for x in throughput[side])
        print(f"  {label:<22} median {statistics.median(throughput[side]):>7.1f}   rounds: {rounds}")
    pairs = " ".join(f"{p / b:.2f}" for p, b in zip(throughput["posts"], throughput["bare"], strict=True))
    print(f"  ratio posts / bare: {ratio:.2f} (median of the rounds' ratios: {pairs})")
    print(
        "goals: leaderboard week <= 50 ms p95 in-process, <= 100 ms over HTTP; overview <= 150 ms; "
        "posts list >= 0.5 of the bare view's requests/s"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "posts": args.posts,
                    "snapshots": args.snapshots,
                    "leaderboard_week_p95_ms": {
                        "inprocess": round(_p(r["leaderboard_week"], 0.95), 1),
                        "inprocess_page": round(_p(r["leaderboard_week_page"], 0.95), 1),
                        "http": round(_p(r["http_week"], 0.95), 1),
                    },
                    "overview_p95_ms": round(_p(r["overview"], 0.95), 1),
                    "posts_list_rps": round(posts_rps, 1),
                    "bare_rps": round(bare_rps, 1),
                    "posts_list_ratio": round(ratio, 2),
                    "rollup_baseline_p95_ms": round(base, 1),
                    "small_guild_leaderboard_p95_ms": round(_p(r["small_leaderboard_week"], 0.95), 1),
                }
            )
        )


if __name__ == "__main__":
    sys.exit(main())
