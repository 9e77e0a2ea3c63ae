"""System checks, and the one-time start-up notes about features that are off."""

from __future__ import annotations

import structlog
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connection
from django.db.utils import DatabaseError

log = structlog.get_logger("tracking.startup")

# (setting, what turns off without it)
FEATURE_KEYS = (
    ("APIFY_API_TOKEN", "Apify scraping (TikTok, Instagram, X, Facebook metrics and bio checks)"),
    ("YOUTUBE_API_KEY", "YouTube metrics"),
    ("OPENAI_API_KEY", "caption checks"),
    ("DISCORD_BOT_TOKEN", "Discord channel messages"),
    ("DISCORD_PUBLIC_KEY", "Discord slash commands"),
    ("DASHBOARD_DISCORD_CLIENT_ID", "Login with Discord"),
    ("SECURITY_ALERT_WEBHOOK_URL", "security alerts to Discord"),
    ("OBSERVABILITY_TOKEN", "the /metrics endpoint"),
    ("BOT_CALLBACK_SIGNING_SECRET", "signed bot callbacks"),
)
_announced = False


def announce_disabled_features() -> None:
    """Say once per process which features are off because their key is unset."""
    global _announced
    if _announced:
        return
    _announced = True
    if not settings.REDIS_URL:
        log.warning("cache_local_memory", detail="VALKEY_URL/REDIS_URL unset: local-memory cache, per process")
    off = [what for key, what in FEATURE_KEYS if not getattr(settings, key, "")]
    if off:
        log.info("features_off", features=off)


@register(Tags.database, deploy=False)
def check_row_level_security(app_configs=None, databases=None, **kwargs):
    """tracking.E001: on PostgreSQL every guild table has forced RLS and its policy."""
    if not databases or "default" not in databases or connection.vendor != "postgresql":
        return []
    from core.rls import rls_problems

    try:
        problems = rls_problems()
    except DatabaseError:  # database not reachable or not migrated: other checks say so
        return []
    # A missing table means migrations are pending (migrate itself runs this check first).
    problems = [p for p in problems if "table missing" not in p]
    return [Error(p, hint="Run `manage.py migrate` as the owner role.", id="tracking.E001") for p in problems]


@register(Tags.security, deploy=True)
def check_production_cache(app_configs=None, **kwargs):
    """tracking.W001: rate limits and replay protection need a shared cache in production."""
    if settings.REDIS_URL:
        return []
    return [Warning("No VALKEY_URL/REDIS_URL: rate limits are per process.", id="tracking.W001")]


JWT_SECRET_RECOMMENDED_BYTES = 64


@register(Tags.security, deploy=True)
def check_jwt_secret_length(app_configs=None, **kwargs):
    """tracking.W002: JWT_SECRET of 32–63 bytes is accepted (existing installs) but 64+ is the standard."""
    size = len(settings.JWT_SECRET.encode())
    if size >= JWT_SECRET_RECOMMENDED_BYTES:
        return []
    return [
        Warning(
            f"JWT_SECRET is {size} bytes; use {JWT_SECRET_RECOMMENDED_BYTES} or more.",
            hint="Generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
            "(64 characters); rotating it logs every dashboard user out once.",
            id="tracking.W002",
        )
    ]
