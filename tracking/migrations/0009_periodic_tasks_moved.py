"""Beat's rows follow the tasks: the refresh, report and bonus tasks moved to metrics.tasks and bot
callback delivery to integrations.bot.tasks; run expiry became reconciliation (Apify is asked before
a run is given up); webhook deliveries get a sweeper, scraped captions a check, the bot a health check and old records a daily purge. Rows staff renamed
or created by hand keep whatever they name; reversing restores the old names and removes the rows
created here."""

from django.db import migrations

RENAMED = {
    "tracking.tasks.plan_refreshes": "metrics.tasks.plan_refreshes",
    "integrations.discord.tasks.send_daily_reports": "metrics.tasks.send_daily_reports",
    "integrations.discord.tasks.award_weekly_bonuses": "metrics.tasks.award_weekly_bonuses",
    "integrations.discord.tasks.deliver_bot_callbacks": "integrations.bot.tasks.deliver_bot_callbacks",
}
# (old name, old task) -> (new name, new task, every seconds)
REPLACED = {
    ("Expire stale Apify runs", "integrations.tasks.expire_runs"): (
        "Reconcile Apify runs",
        "metrics.tasks.reconcile_runs",
        60,
    ),
}
NEW = (
    ("Process webhook deliveries", "metrics.tasks.process_due_deliveries", 30),
    ("Check captions", "metrics.tasks.check_captions", 60),
    ("Check bot health", "integrations.bot.tasks.check_bot_health", 60),
    ("Purge old records", "tracking.tasks.purge", 86400),
)


def _every(apps, seconds):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    return IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")[0]


def forward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in RENAMED.items():
        PeriodicTask.objects.filter(task=old).update(task=new)
    for (old_name, old_task), (name, task, seconds) in REPLACED.items():
        PeriodicTask.objects.filter(name=old_name, task=old_task).update(
            name=name, task=task, interval=_every(apps, seconds), crontab=None
        )
    for name, task, seconds in NEW:
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "enabled": True,
                "interval": _every(apps, seconds),
                "description": f"Created by {__name__}.",
            },
        )


def backward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[n for n, _, _ in NEW], description=f"Created by {__name__}.").delete()
    for (old_name, old_task), (name, task, _) in REPLACED.items():
        PeriodicTask.objects.filter(name=name, task=task).update(
            name=old_name, task=old_task, interval=_every(apps, 600)
        )
    for old, new in RENAMED.items():
        PeriodicTask.objects.filter(task=new).update(task=old)


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0008_fraudsignal"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
