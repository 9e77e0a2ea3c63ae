"""`manage.py reconcile_runs`: ask Apify about runs whose start was not confirmed or that went quiet."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from metrics.runs import process_due_deliveries, reconcile_runs


class Command(BaseCommand):
    help = (
        "Reconcile the Apify runs we pay for with what Apify really did (beat and `manage.py track` run "
        "this every minute): a start whose answer was lost is found among the actor's runs by the input "
        "we sent (or failed with the reason, its run given back only when Apify lists nothing); a run "
        "that never reported back is asked for — finished runs are ingested, running ones waited for, "
        "failed ones failed with Apify's reason. Then the webhook deliveries that are due are processed. "
        "Works across all guilds (a logged row-level-security bypass); safe to run at any time."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        runs = reconcile_runs()
        deliveries = process_due_deliveries()
        self.stdout.write(
            f"adopted={runs.adopted} refunded={runs.refunded} polled={runs.polled} extended={runs.extended} "
            f"failed={runs.failed} deliveries_done={deliveries.done} deliveries_retrying={deliveries.retrying} "
            f"deliveries_failed={deliveries.failed}"
        )
