"""Set up and read back the application's database from outside the processes under test.

    python -m tests.faults.app_state seed POSTS     a guild with POSTS TikTok posts due for refresh,
                                                    beat's sweeper and reconciler every 2 seconds,
                                                    beat's own refresh planning off (the test starts runs)
    python -m tests.faults.app_state probe          the state as JSON: runs, snapshots, budget, deliveries

Run with the application's settings (DJANGO_SETTINGS_MODULE=tracking.settings) and its database as
the owner role, like ``manage.py``.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import django

django.setup()

from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_celery_beat.models import IntervalSchedule, PeriodicTask  # noqa: E402

from core.tenancy import rls_bypass  # noqa: E402
from guilds.models import GuildApiUsage  # noqa: E402
from integrations.models import ApifyRunRegistry, WebhookDelivery  # noqa: E402
from metrics.models import VideoMetrics  # noqa: E402
from tests.factories import make_guild  # noqa: E402
from tests.helpers.apify import make_posts  # noqa: E402
from tracking.models import Post  # noqa: E402

FAST_JOBS = ("metrics.tasks.process_due_deliveries", "metrics.tasks.reconcile_runs")


def seed(posts: int) -> dict:
    with rls_bypass(reason="fault test set-up"):
        guild = make_guild()
        made = make_posts(guild, posts, next_refresh_at=timezone.now() - timedelta(days=2))
    every_2s, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task__in=FAST_JOBS).update(interval=every_2s, crontab=None)
    PeriodicTask.objects.exclude(task__in=FAST_JOBS).update(enabled=False)
    return {"guild_id": guild.id, "post_ids": [p.pk for p in made]}


def probe() -> dict:
    with rls_bypass(reason="fault test assertions"):
        runs = list(
            ApifyRunRegistry.objects.order_by("pk").values(
                "pk", "status", "apify_run_id", "status_message", "duplicate_of_id", "post_ids"
            )
        )
        per_post = VideoMetrics.objects.values("post_id").annotate(n=Count("pk"))
        return {
            "runs": runs,
            "snapshots": VideoMetrics.objects.count(),
            "snapshots_per_post": {str(row["post_id"]): row["n"] for row in per_post},
            "budget_runs": sum(GuildApiUsage.objects.values_list("apify_run_count", flat=True)),
            "deliveries": list(
                WebhookDelivery.objects.order_by("pk").values("pk", "source", "state", "attempts", "last_error")
            ),
            "posts": list(Post.objects.order_by("pk").values("pk", "status", "failure_count", "views")),
        }


if __name__ == "__main__":
    command = sys.argv[1]
    result = seed(int(sys.argv[2])) if command == "seed" else probe()
    print(json.dumps(result, default=str))
