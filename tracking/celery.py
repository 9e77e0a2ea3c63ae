"""The Celery app: broker from CELERY_BROKER_URL (or REDIS_URL with CELERY_USE_REDIS_BROKER=true).

Acks late, rejects on worker loss, prefetches one task, JSON only (settings CELERY_*). Without a broker
tasks run eagerly, in-process, and ``manage.py track`` runs the periodic jobs instead of beat.

    celery -A tracking worker -l info
    celery -A tracking beat -l info      # schedules: django-celery-beat (admin → Periodic tasks)
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracking.settings")

app = Celery("tracking")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
