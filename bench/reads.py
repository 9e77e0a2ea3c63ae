"""Dashboard reads on a large guild against a plain read of the rollup table, side by side, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/reads.py --posts 500 --snapshots 100000

Creates a throwaway database next to DATABASE_URL's (``bench_reads_<pid>``; the role needs CREATEDB and
CREATEROLE), migrates it, and builds with generate_series: a large guild of ``--posts`` posts by one
creator per 40 posts with ``--snapshots`` hourly snapshots spread over them (a third of the posts with
a counting window), and a small guild (100 posts, 48 snapshots each); then rebuilds the daily rollups
and ANALYZEs. Every read runs as a restricted role (not superuser, not BYPASSRLS: row-level security
applies), created for the run and dropped with the database:

- in-process: the leaderboard (day, week, month, all), the overview's reads (period cards, the chart
  warm and cold, freshness), a post's series, and the small guild's week leaderboard;
- over HTTP through gunicorn (2 workers, DEBUG off): the bot API's week leaderboard (one page);
- the baseline: a plain SQL read of the rollup table (every post's row for one day).

Prints p50/p95 of each and its ratio to the baseline; ``--json`` makes the last line one JSON object.
The posts-list and bare-view requests/s of issue 17 are not measured yet (``null`` in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
LARGE, SMALL = 1_310_000_000_000_000_001, 1_310_000_000_000_000_002
ROLE = "bench_reads_app"
BOT_KEY = "bench-reads-" + "k" * 24


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=20_000, help="Posts of the large guild (default 20,000).")
    parser.add_argument("--snapshots", type=int, default=10_000_000, help="Its snapshots (default 10,000,000).")
    parser.add_argument("--repeat", type=int, default=9, help="Timed runs of each read (p50/p95 over them).")
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
    results["http_week"] = measure_http(app_url, args.repeat)
    report(args, results)
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
        cursor.execute("ANALYZE")


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
            counting_ends_at, growth_per_hour, needs_resolution)
        SELECT %(guild)s, p.creator_id, p.id, %(client)s, 'tiktok', (%(guild)s::numeric * 1000000 + g)::text,
            'https://www.tiktok.com/@b/video/' || g, 'https://www.tiktok.com/@b/video/' || g, '', 'unchecked',
            '[]'::jsonb, '', '', 'b', t.went_up, t.went_up, 'tracking', '', %(per)s * 100, 0, 0, 0,
            t.went_up + (%(per)s - 1) * interval '1 hour', now() + interval '1 hour', 0, '',
            CASE WHEN g %% 3 = 0 THEN t.went_up + interval '30 days' END, 100, false
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
    from metrics.selectors import leaderboard
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


def measure_http(app_url: str, repeat: int) -> list[float]:
    """The bot API's week leaderboard (first page) through gunicorn, as the restricted role."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "JWT_SECRET": secrets.token_urlsafe(32),
        "API_SECRET": secrets.token_urlsafe(32),
        "API_SERVICE_KEYS": f"bench:{BOT_KEY}:bot.read",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "ERROR",
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, local address only
        [gunicorn, "-c", "gunicorn.conf.py", "tracking.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api/v1/bot/guilds/{LARGE}/leaderboard?period=week"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {BOT_KEY}"})  # noqa: S310
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                    response.read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("bench/reads.py: gunicorn did not answer within 60 s") from None
                time.sleep(0.5)

        def fetch():
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                assert response.status == 200
                response.read()

        return _times(fetch, repeat)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def report(args, r: dict[str, list[float]]) -> None:
    base = _p(r["rollup_baseline"], 0.95)
    print(f"{'read':<26}{'p50 ms':>10}{'p95 ms':>10}{'p95 / baseline':>16}")
    for key, times in r.items():
        print(f"{key:<26}{statistics.median(times):>10.1f}{_p(times, 0.95):>10.1f}{_p(times, 0.95) / base:>16.1f}")
    print("goals: leaderboard week <= 50 ms p95 in-process, <= 100 ms over HTTP; overview <= 150 ms")
    if args.json:
        print(
            json.dumps(
                {
                    "posts": args.posts,
                    "snapshots": args.snapshots,
                    "leaderboard_week_p95_ms": {
                        "inprocess": round(_p(r["leaderboard_week"], 0.95), 1),
                        "http": round(_p(r["http_week"], 0.95), 1),
                    },
                    "overview_p95_ms": round(_p(r["overview"], 0.95), 1),
                    "posts_list_rps": None,
                    "bare_rps": None,
                    "rollup_baseline_p95_ms": round(base, 1),
                    "small_guild_leaderboard_p95_ms": round(_p(r["small_leaderboard_week"], 0.95), 1),
                }
            )
        )


if __name__ == "__main__":
    sys.exit(main())
