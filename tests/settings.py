"""Test settings: the real settings module, in development mode, with fast password hashing.

The environment decides the database and cache exactly as in production (SQLite and local memory by
default; DATABASE_URL / REDIS_URL for PostgreSQL and Redis), so the suite runs on both.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from tracking.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = ""
SCREENSHOT_STORAGE_PATH = BASE_DIR / "var" / "test-screenshots"  # noqa: F405
SECURE_SSL_REDIRECT = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
if REDIS_URL:  # noqa: F405
    # One Redis database per xdist worker (10, 11, ...): each worker's test database numbers its
    # users from 1, so a shared cache would hand one worker's cached guild lists to another.
    # TEST_REDIS_DB_OFFSET moves the range, so two checkouts can run their suites side by side.
    import re as _re

    _worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    _offset = int(os.environ.get("TEST_REDIS_DB_OFFSET", "10"))
    for _alias in CACHES.values():  # noqa: F405  (default and ratelimit: the same database)
        _alias["LOCATION"] = _re.sub(r"/\d*$", f"/{_offset + _worker}", REDIS_URL.rstrip("/"))  # noqa: F405
if DATABASE_IS_POSTGRES:  # noqa: F405
    # pytest-django creates and drops the test database; a pool would keep connections open to it.
    DATABASES["default"]["OPTIONS"].pop("pool", None)  # noqa: F405
