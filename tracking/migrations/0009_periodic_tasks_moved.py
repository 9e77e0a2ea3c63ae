"""The refresh, expiry, report and bonus tasks moved to metrics.tasks, bot callback delivery to
integrations.bot.tasks: point beat's rows at their new
names (rows staff renamed or created by hand keep whatever task they name)."""

from django.db import migrations

RENAMED = {
    "tracking.tasks.plan_refreshes": "metrics.tasks.plan_refreshes",
    "integrations.tasks.expire_runs": "metrics.tasks.expire_runs",
    "integrations.discord.tasks.send_daily_reports": "metrics.tasks.send_daily_reports",
    "integrations.discord.tasks.award_weekly_bonuses": "metrics.tasks.award_weekly_bonuses",
    "integrations.discord.tasks.deliver_bot_callbacks": "integrations.bot.tasks.deliver_bot_callbacks",
}


def rename(apps, schema_editor, mapping=RENAMED):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in mapping.items():
        PeriodicTask.objects.filter(task=old).update(task=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0008_fraudsignal"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
