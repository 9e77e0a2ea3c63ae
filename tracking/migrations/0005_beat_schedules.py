"""The periodic jobs in django-celery-beat (editable in admin → Periodic tasks).

Frozen copy of tracking.tasks.PERIODIC_JOBS as of this migration (a test checks they agree). Runs that
exist already (edited by staff) are left alone; reversing removes only the tasks created here.
"""

from django.db import migrations

JOBS = (
    # name, task, every seconds, hourly at minute (crontab) or None
    ("Plan metric refreshes", "tracking.tasks.plan_refreshes", 300, None),
    ("Expire stale Apify runs", "integrations.tasks.expire_runs", 600, None),
    ("Send daily reports", "integrations.discord.tasks.send_daily_reports", 3600, 0),
    ("Award weekly bonuses", "integrations.discord.tasks.award_weekly_bonuses", 3600, 0),
    ("Retry bot callbacks", "integrations.discord.tasks.deliver_bot_callbacks", 60, None),
    ("Send Discord notifications", "integrations.discord.tasks.send_notifications", 60, None),
)


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds, at_minute in JOBS:
        schedule = {}
        if at_minute is None:
            schedule["interval"] = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")[0]
        else:
            schedule["crontab"] = CrontabSchedule.objects.get_or_create(
                minute=str(at_minute),
                hour="*",
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone="UTC",
            )[0]
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "enabled": True, "description": f"Created by {__name__}.", **schedule}
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[job[0] for job in JOBS], description=f"Created by {__name__}.").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0004_post_guild_updated_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
