"""Beat sends the creator message outbox (private Discord messages about flagged, rejected and
approved posts) every minute. A row staff created by hand under that name is kept; reversing removes
only the row created here."""

from django.db import migrations

NAME = "Send creator messages"
TASK = "integrations.discord.tasks.send_creator_messages"


def forward(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every = IntervalSchedule.objects.get_or_create(every=60, period="seconds")[0]
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "enabled": True, "interval": every, "description": f"Created by {__name__}."},
    )


def backward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME, description=f"Created by {__name__}.").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0013_post_needs_resolution_partial_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
