"""`manage.py simulate_refresh`: the refresh scheduler against the fixed-hourly baseline, simulated."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking.cadence import Limits
from tracking.simulation import run_simulation

KEYS = ("apify_runs", "items_scraped", "youtube_units", "unseen_views_share", "median_staleness_s", "p95_staleness_s")


class Command(BaseCommand):
    help = (
        "Benchmark the refresh scheduler: run the real cadence and planner on synthetic posts (taking off, "
        "plateauing, dying, deleted; TikTok, Instagram, YouTube, X, Facebook) on a simulated clock — no "
        "network, no database writes — and compare with refreshing every post every hour, one Apify run "
        "per post. Reports Apify runs, items scraped, YouTube units, the time-averaged share of views not yet "
        "in our numbers, and median / p95 staleness. Goal: at most 1/20 of the baseline's runs and half its "
        "items with at most twice its unseen-views share."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--posts", type=int, default=500, metavar="N", help="Posts submitted (default 500).")
        parser.add_argument("--days", type=float, default=7, metavar="D", help="Days simulated (default 7).")
        parser.add_argument(
            "--budget",
            type=int,
            default=100,
            metavar="RUNS_PER_DAY",
            help="The guild's daily Apify run limit (default 100, GuildBudgetConfig's default).",
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed: same seed, same numbers (default 1).")
        parser.add_argument("--json", action="store_true", help='Print one JSON object {"scheduler", "fixed_hourly"}.')

    def handle(self, *args: Any, posts: int, days: float, budget: int, seed: int, json: bool, **options: Any):
        if posts < 1 or posts > 100_000:
            raise CommandError("--posts must be between 1 and 100000.")
        if not 0 < days <= 60:
            raise CommandError("--days must be more than 0 and at most 60.")
        if budget < 1:
            raise CommandError("--budget must be at least 1 run per day.")
        result = run_simulation(
            posts=posts,
            days=days,
            runs_per_day=budget,
            seed=seed,
            limits=Limits.from_settings(),
            reserve_share=settings.SCHEDULER_BUDGET_RESERVE_SHARE,
        )
        if json:
            self.stdout.write(_dumps(result))
            return
        self.stdout.write(f"{'':<22}{'scheduler':>14}{'fixed_hourly':>14}")
        for key in KEYS:
            self.stdout.write(f"{key:<22}{result['scheduler'][key]:>14}{result['fixed_hourly'][key]:>14}")


def _dumps(result: dict) -> str:
    return json.dumps(result, sort_keys=True)
