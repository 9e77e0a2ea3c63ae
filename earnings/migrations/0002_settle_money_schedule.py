"""Beat runs the money job (finalization and budget alerts) every 15 minutes."""

from django.db import migrations

NAME, TASK, SECONDS = "Settle money", "earnings.tasks.settle_money", 15 * 60


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every = IntervalSchedule.objects.get_or_create(every=SECONDS, period="seconds")[0]
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "enabled": True, "interval": every, "description": f"Created by {__name__}."},
    )


def backward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME, description=f"Created by {__name__}.").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("earnings", "0001_ledger"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
