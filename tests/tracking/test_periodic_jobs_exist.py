"""Every scheduled job names a task that exists, for beat (by Celery name) and for `track` (by path)."""

import pytest

from tracking.celery import app
from tracking.jobs import PERIODIC_JOBS
from tracking.management.commands.track import resolve_task


@pytest.mark.parametrize("job", PERIODIC_JOBS, ids=lambda j: j.task)
def test_the_job_resolves_for_track_and_for_beat(job):
    task = resolve_task(job.task)
    assert task is not None, f"manage.py track cannot find {job.task}"
    app.loader.import_default_modules()
    assert job.task in app.tasks, f"no Celery task is registered as {job.task}"
    assert task.name == job.task
