"""The Celery app: broker from CELERY_BROKER_URL (or REDIS_URL with CELERY_USE_REDIS_BROKER=true).

Acks late, rejects on worker loss, prefetches one task, JSON only, time limits and a visibility
timeout just above them (settings CELERY_*). Without a broker tasks run eagerly, in-process, and
``manage.py track`` runs the periodic jobs instead of beat. Worker and beat log exactly like the
web process: JSON lines through core.logging, secrets redacted (Celery does not install handlers
of its own).

    celery -A tracking worker -l info
    celery -A tracking beat -l info      # schedules: django-celery-beat (admin → Periodic tasks)
"""

import os

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracking.settings")

app = Celery("tracking")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _keep_our_logging(**kwargs) -> None:
    """Connected, this stops Celery from configuring logging: the settings already did (JSON, redacted)."""
    settings.LOG_LEVEL  # noqa: B018 - reading a setting loads the settings, which configure logging
