"""Settings for bench/reads.py's gunicorn only: production settings plus the bench URLconf.

Never used by the app, the tests or a deployment: only ``bench/reads.py`` starts gunicorn with
``DJANGO_SETTINGS_MODULE=bench.settings``.
"""

from tracking.settings import *  # noqa: F403 - the production settings, unchanged

ROOT_URLCONF = "bench.urls"
