"""Beat row for the caption checks (metrics.tasks.check_captions, every minute). Frozen copy of the job
in tracking.jobs as of this migration; an existing row of that name (edited by staff) is left alone."""

from django.db import migrations

NAME, TASK, SECONDS = "Check captions", "metrics.tasks.check_captions", 60


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval = IntervalSchedule.objects.get_or_create(every=SECONDS, period="seconds")[0]
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "enabled": True, "interval": interval, "description": f"Created by {__name__}."},
    )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME, description=f"Created by {__name__}.").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0011_post_caption_hash"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
