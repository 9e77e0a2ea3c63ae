"""Settings for Tracking Data, read from the environment (django-environ).

Every variable is listed with its default and meaning in .env.example. With DJANGO_DEBUG off, a
required setting that is missing or malformed stops start-up with ImproperlyConfigured naming it;
a feature whose key is unset is switched off and says so once in the log (see tracking/apps.py).
"""

from __future__ import annotations

import ipaddress
import zoneinfo
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _fail(name: str, why: str) -> None:
    raise ImproperlyConfigured(f"{name} {why}. See .env.example for its meaning and format.")


DEBUG = env.bool("DJANGO_DEBUG", default=False)

# ---------------------------------------------------------------------------------------------
# Required in production. In DEBUG we fall back to obviously-insecure development values so that
# `make run` works on a fresh machine with no .env at all.
# ---------------------------------------------------------------------------------------------
_DEV_ONLY = "insecure-development-only-"


def _secret(name: str, *, min_length: int = 32) -> str:
    value = env.str(name, default="")
    if not value:
        if DEBUG:
            return f"{_DEV_ONLY}{name.lower()}-0123456789abcdef0123456789abcdef"
        _fail(name, "is required when DJANGO_DEBUG is off")
    if len(value) < min_length:
        _fail(name, f"must be at least {min_length} characters long")
    if not DEBUG and value.startswith(_DEV_ONLY):
        _fail(name, "still has the development placeholder value")
    return value


SECRET_KEY = _secret("DJANGO_SECRET_KEY", min_length=50)
JWT_SECRET = _secret("JWT_SECRET")
API_SECRET = _secret("API_SECRET")

try:
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
except Exception:  # pragma: no cover - env.list never raises on strings, kept for clarity
    ALLOWED_HOSTS = []
if not ALLOWED_HOSTS and not DEBUG:
    _fail("DJANGO_ALLOWED_HOSTS", "is required when DJANGO_DEBUG is off (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# ---------------------------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "social_django",
    "django_structlog",
    "axes",
    "core",
    "tracking",
    "guilds",
    "metrics",
    "earnings",
    "integrations",
    "dashboard_auth",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "axes.middleware.AxesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Eager tasks a request enqueued run after its response is sent (tracking/deferred.py).
    "core.deferred.AfterResponseMiddleware",
    # Last: it runs the view inside the guild's transaction scope (tracking/tenancy.py).
    "core.tenancy.GuildScopeMiddleware",
]

ROOT_URLCONF = "tracking.urls"
WSGI_APPLICATION = "tracking.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.health.health_banner",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Database: SQLite in the project folder by default; PostgreSQL (with a psycopg pool) when given.
# ---------------------------------------------------------------------------------------------
try:
    DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
except Exception as exc:  # django-environ raises several types for a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL is malformed ({exc.__class__.__name__}).") from None
if DATABASES["default"].get("ENGINE") not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
    _fail("DATABASE_URL", "is malformed: use postgres://user@host:5432/name or sqlite:///path")
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if DATABASE_IS_POSTGRES:
    # Django's backend, plus the tenant of the running code applied before every statement (RLS).
    DATABASES["default"]["ENGINE"] = "core.db.postgresql"
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not as well
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        "timeout": env.float("DATABASE_POOL_TIMEOUT_SECONDS", default=10.0),
    }
    # JIT compiles a plan once its cost passes jit_above_cost: our reads are short index look-ups whose
    # estimated cost on a large guild crosses that line, and compiling added 50-90 ms to a leaderboard
    # that runs in tens. Off per connection unless DATABASE_JIT=true (kept for analytical one-offs).
    if not env.bool("DATABASE_JIT", default=False):
        _options = DATABASES["default"]["OPTIONS"]
        _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
# The non-privileged role that serves requests and runs tasks (row-level security applies to it).
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="tracking_app")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------------------------
# Cache: django-redis when VALKEY_URL or REDIS_URL is set, else local memory (warned about once).
# ---------------------------------------------------------------------------------------------
REDIS_URL = env.str("VALKEY_URL", default="") or env.str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    _fail("VALKEY_URL/REDIS_URL", "must start with redis://, rediss:// or unix://")
# Two aliases on the same store: "default" treats Redis errors as misses (an outage degrades, never a
# 500; logged by django-redis), "ratelimit" raises them so each limit can fail open or closed
# (core/api/ratelimit.py).


def redis_caches(url: str) -> dict:
    """The cache aliases on one Redis URL: "default" ignores errors, "ratelimit" raises them."""

    def alias(*, ignore_errors: bool) -> dict:
        return {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                "IGNORE_EXCEPTIONS": ignore_errors,
            },
            "KEY_PREFIX": "td",
        }

    return {"default": alias(ignore_errors=True), "ratelimit": alias(ignore_errors=False)}


if REDIS_URL:
    CACHES = redis_caches(REDIS_URL)
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "td"},
        "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "td"},
    }
RATELIMIT_USE_CACHE = "ratelimit"
# Readiness probes and /metrics open their own database connection with this connect timeout.
PROBE_CONNECT_TIMEOUT_SECONDS = env.int("PROBE_CONNECT_TIMEOUT_SECONDS", default=1)

# ---------------------------------------------------------------------------------------------
# Auth: staff use Django sessions + admin; guild admins log in with Discord (social-auth).
# ---------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: a locked-out user or address is refused before any check
    "social_core.backends.discord.DiscordOAuth2",
    "django.contrib.auth.backends.ModelBackend",
]
# Password logins (Django admin) lock out after AXES_FAILURE_LIMIT failures — per address and per
# user name, each on its own — for AXES_COOLOFF_MINUTES, or until staff unlock it (admin → Axes →
# Access attempts, or `manage.py axes_reset_username NAME`). Each lockout is a security event and
# raises the staff alert. "Login with Discord" has no password and is not counted.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME < timedelta(minutes=1):
    _fail("AXES_FAILURE_LIMIT/AXES_COOLOFF_MINUTES", "must be at least 1")
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip_for_axes"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dashboard_auth.lockout.locked_out_response"
LOGIN_REDIRECT_URL = "/admin/"  # a staff login without ?next= lands in the admin, not /accounts/profile/
DASHBOARD_DISCORD_CLIENT_ID = env.str("DASHBOARD_DISCORD_CLIENT_ID", default="")
DASHBOARD_DISCORD_CLIENT_SECRET = env.str("DASHBOARD_DISCORD_CLIENT_SECRET", default="")
DASHBOARD_OAUTH_CALLBACK = env.str("DASHBOARD_OAUTH_CALLBACK", default="")
SOCIAL_AUTH_DISCORD_KEY = DASHBOARD_DISCORD_CLIENT_ID
SOCIAL_AUTH_DISCORD_SECRET = DASHBOARD_DISCORD_CLIENT_SECRET
SOCIAL_AUTH_DISCORD_SCOPE = ["identify", "guilds"]
# social-core adds its default scope (identify) to ours: say each scope once.
SOCIAL_AUTH_DISCORD_IGNORE_DEFAULT_SCOPE = True
# Discord shows the consent screen every time (documented in dashboard_auth/api.py): a GET that starts
# the flow can never log someone in silently.
SOCIAL_AUTH_DISCORD_AUTH_EXTRA_ARGUMENTS = {"prompt": "consent"}
SOCIAL_AUTH_JSONFIELD_ENABLED = True
SOCIAL_AUTH_URL_NAMESPACE = "social"
DASHBOARD_ACCESS_COOKIE_NAME = env.str("DASHBOARD_ACCESS_COOKIE_NAME", default="dashboard_at")
DASHBOARD_REFRESH_COOKIE_NAME = env.str("DASHBOARD_REFRESH_COOKIE_NAME", default="dashboard_rt")
DASHBOARD_SESSION_COOKIE_SAMESITE = env.str("DASHBOARD_SESSION_COOKIE_SAMESITE", default="strict").capitalize()
if DASHBOARD_SESSION_COOKIE_SAMESITE not in ("Strict", "Lax", "None"):
    _fail("DASHBOARD_SESSION_COOKIE_SAMESITE", "must be strict, lax or none")
JWT_ACCESS_TTL_SECONDS = env.int("JWT_ACCESS_TTL_SECONDS", default=15 * 60)
REFRESH_TOKEN_TTL_SECONDS = env.int("REFRESH_TOKEN_TTL_SECONDS", default=30 * 24 * 3600)
# Two tabs refreshing with one token: the just-rotated token answers with the same new pair this long.
REFRESH_REUSE_GRACE_SECONDS = env.int("REFRESH_REUSE_GRACE_SECONDS", default=10)


def _service_keys(raw: str) -> list[tuple[str, str, frozenset[str]]]:
    """API_SERVICE_KEYS: comma-separated name:key:scope1|scope2 entries."""
    keys = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        parts = entry.split(":")
        if len(parts) != 3 or not parts[0] or len(parts[1]) < 16:
            _fail("API_SERVICE_KEYS", "must be name:key:scope1|scope2 entries with keys of 16+ characters")
        keys.append((parts[0], parts[1], frozenset(filter(None, parts[2].split("|")))))
    return keys


API_SERVICE_KEYS = _service_keys(env.str("API_SERVICE_KEYS", default=""))
SECURITY_DASHBOARD_READ_KEYS = env.list("SECURITY_DASHBOARD_READ_KEYS", default=[])
SECURITY_DASHBOARD_ADMIN_KEYS = env.list("SECURITY_DASHBOARD_ADMIN_KEYS", default=[])
OBSERVABILITY_TOKEN = env.str("OBSERVABILITY_TOKEN", default="")

# ---------------------------------------------------------------------------------------------
# Vendors. A feature whose key is unset is off (said once at start-up).
# ---------------------------------------------------------------------------------------------
DEFAULT_OUTBOUND_HTTP_TIMEOUT_MS = env.int("DEFAULT_OUTBOUND_HTTP_TIMEOUT_MS", default=10_000)
APIFY_API_TOKEN = env.str("APIFY_API_TOKEN", default="")
APIFY_API_BASE_URL = env.str("APIFY_API_BASE_URL", default="https://api.apify.com")
APIFY_WEBHOOK_SIGNING_SECRET = env.str("APIFY_WEBHOOK_SIGNING_SECRET", default="")
if APIFY_API_TOKEN and len(APIFY_WEBHOOK_SIGNING_SECRET) < 32:
    _fail("APIFY_WEBHOOK_SIGNING_SECRET", "must be set (32+ characters) when APIFY_API_TOKEN is set")
APIFY_INSTAGRAM_ACTOR_ID = env.str("APIFY_INSTAGRAM_ACTOR_ID", default="apify/instagram-scraper")
APIFY_TIKTOK_ACTOR_ID = env.str("APIFY_TIKTOK_ACTOR_ID", default="clockworks/tiktok-scraper")
APIFY_X_ACTOR_ID = env.str("APIFY_X_ACTOR_ID", default="apidojo/twitter-scraper-lite")
APIFY_X_PROFILE_ACTOR_ID = env.str("APIFY_X_PROFILE_ACTOR_ID", default="apidojo/twitter-user-scraper")
APIFY_FACEBOOK_ACTOR_ID = env.str("APIFY_FACEBOOK_ACTOR_ID", default="apify/facebook-posts-scraper")
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
YOUTUBE_API_KEY = env.str("YOUTUBE_API_KEY", default="")
YOUTUBE_HTTP_TIMEOUT_MS = env.int("YOUTUBE_HTTP_TIMEOUT_MS", default=DEFAULT_OUTBOUND_HTTP_TIMEOUT_MS)
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
DISCORD_HTTP_TIMEOUT_MS = env.int("DISCORD_HTTP_TIMEOUT_MS", default=DEFAULT_OUTBOUND_HTTP_TIMEOUT_MS)
DISCORD_PUBLIC_KEY = env.str("DISCORD_PUBLIC_KEY", default="")
if DISCORD_PUBLIC_KEY:
    try:
        if len(bytes.fromhex(DISCORD_PUBLIC_KEY)) != 32:
            raise ValueError
    except ValueError:
        _fail("DISCORD_PUBLIC_KEY", "must be the application's 64-character hex Ed25519 public key")
DISCORD_APPLICATION_ID = env.str("DISCORD_APPLICATION_ID", default="")
DISCORD_BOT_TOKEN = env.str("DISCORD_BOT_TOKEN", default="")
SECURITY_ALERT_WEBHOOK_URL = env.str("SECURITY_ALERT_WEBHOOK_URL", default="")

# ---------------------------------------------------------------------------------------------
# Webhooks and bot callbacks
# ---------------------------------------------------------------------------------------------
WEBHOOK_SIGNED_PAYLOAD_MODE = env.str("WEBHOOK_SIGNED_PAYLOAD_MODE", default="enforce")
if WEBHOOK_SIGNED_PAYLOAD_MODE not in ("enforce", "log"):
    _fail("WEBHOOK_SIGNED_PAYLOAD_MODE", "must be enforce or log")
WEBHOOK_SIGNED_PAYLOAD_TTL_SECONDS = env.int("WEBHOOK_SIGNED_PAYLOAD_TTL_SECONDS", default=300)
WEBHOOK_DISPATCH_TTL_SECONDS = env.int("WEBHOOK_DISPATCH_TTL_SECONDS", default=86400)
WEBHOOK_ALLOWED_ORIGINS = env.list("WEBHOOK_ALLOWED_ORIGINS", default=["api.apify.com", "my.apify.com"])
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
# Accepted Apify webhooks are rows processed by a worker (or manage.py track): a processor holds one
# for LEASE seconds (after that a sweeper takes it over: its process died); transient failures are
# retried with backoff up to MAX_ATTEMPTS. With a broker the sweeper waits SWEEP_GRACE seconds
# before doing a fresh delivery's work itself (the webhook's own task normally has).
WEBHOOK_DELIVERY_LEASE_SECONDS = env.int("WEBHOOK_DELIVERY_LEASE_SECONDS", default=90)
WEBHOOK_DELIVERY_MAX_ATTEMPTS = env.int("WEBHOOK_DELIVERY_MAX_ATTEMPTS", default=8)
WEBHOOK_DELIVERY_SWEEP_GRACE_SECONDS = env.int("WEBHOOK_DELIVERY_SWEEP_GRACE_SECONDS", default=30)
if WEBHOOK_DELIVERY_LEASE_SECONDS < 10 or WEBHOOK_DELIVERY_MAX_ATTEMPTS < 1 or WEBHOOK_DELIVERY_SWEEP_GRACE_SECONDS < 0:
    _fail("WEBHOOK_DELIVERY_*", "lease at least 10 seconds, at least 1 attempt, grace not negative")
# Reconciliation: a start whose answer was lost is looked for at Apify once its call has certainly
# ended (APIFY_HTTP_TIMEOUT_MS + SETTLE); a run silent for POLL_AFTER seconds is asked about, again
# every POLL_INTERVAL seconds, and before it would expire.
APIFY_START_SETTLE_SECONDS = env.int("APIFY_START_SETTLE_SECONDS", default=60)
APIFY_RUN_POLL_AFTER_SECONDS = env.int("APIFY_RUN_POLL_AFTER_SECONDS", default=120)
APIFY_RUN_POLL_INTERVAL_SECONDS = env.int("APIFY_RUN_POLL_INTERVAL_SECONDS", default=60)
if min(APIFY_START_SETTLE_SECONDS, APIFY_RUN_POLL_AFTER_SECONDS, APIFY_RUN_POLL_INTERVAL_SECONDS) < 1:
    _fail("APIFY_START_SETTLE_SECONDS/APIFY_RUN_POLL_*", "must be positive numbers of seconds")
BOT_CALLBACK_SIGNING_SECRET = env.str("BOT_CALLBACK_SIGNING_SECRET", default="")
if BOT_CALLBACK_SIGNING_SECRET and not BOT_CALLBACK_SIGNING_SECRET.startswith("whsec_"):
    _fail("BOT_CALLBACK_SIGNING_SECRET", "must be a Standard Webhooks secret starting with whsec_")
BOT_CALLBACK_SIGNED_MODE = env.str("BOT_CALLBACK_SIGNED_MODE", default="enforce")
if BOT_CALLBACK_SIGNED_MODE not in ("enforce", "log"):
    _fail("BOT_CALLBACK_SIGNED_MODE", "must be enforce or log")
BOT_CALLBACK_ALLOWED_SERVICES = env.list("BOT_CALLBACK_ALLOWED_SERVICES", default=["bot"])
BOT_CALLBACK_SERVICE_NAME = env.str("BOT_CALLBACK_SERVICE_NAME", default="api")
BOT_CALLBACK_TOKEN = env.str("BOT_CALLBACK_TOKEN", default="")
BOT_CALLBACK_URL = env.str("BOT_CALLBACK_URL", default="http://127.0.0.1:4000")
# A bot silent this long (no heartbeat) is offline: one staff alert, shown in /metrics and the dashboard.
BOT_HEARTBEAT_STALE_SECONDS = env.int("BOT_HEARTBEAT_STALE_SECONDS", default=300)
if BOT_HEARTBEAT_STALE_SECONDS < 30:
    _fail("BOT_HEARTBEAT_STALE_SECONDS", "must be at least 30")


def _cidrs(raw: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(c.strip(), strict=False) for c in raw if c.strip()]
    except ValueError:
        _fail("TRUST_PROXY_CIDRS", "must be comma-separated CIDR ranges such as 10.0.0.0/8")
        raise  # unreachable; keeps type checkers honest


TRUST_PROXY_CIDRS = _cidrs(env.list("TRUST_PROXY_CIDRS", default=[]))
TRUST_PROXY_HOPS = env.int("TRUST_PROXY_HOPS", default=0)

SCREENSHOT_STORAGE_PATH = Path(env.str("SCREENSHOT_STORAGE_PATH", default=str(BASE_DIR / "var" / "screenshots")))
SCREENSHOT_MAX_BYTES = env.int("SCREENSHOT_MAX_BYTES", default=8 * 1024 * 1024)

# Encrypts creators' payout methods at rest (a Fernet key). Empty: /payout is off.
PAYOUT_ENCRYPTION_KEY = env.str("PAYOUT_ENCRYPTION_KEY", default="")
if PAYOUT_ENCRYPTION_KEY:
    try:
        Fernet(PAYOUT_ENCRYPTION_KEY.encode())
    except ValueError:
        _fail("PAYOUT_ENCRYPTION_KEY", "must be a Fernet key (32 url-safe base64-encoded bytes)")
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("REQUEST_MAX_BODY_BYTES", default=2 * 1024 * 1024)

# ---------------------------------------------------------------------------------------------
# Celery: a broker turns on workers; without one, `manage.py track` runs the same services.
# ---------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Task modules outside an app's tasks.py (autodiscovery finds those).
CELERY_IMPORTS = ["integrations.discord.tasks", "integrations.bot.tasks"]

# ---------------------------------------------------------------------------------------------
# Internationalisation, static files
# ---------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]  # vendored, pinned front-end files (static/vendor/)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
DEFAULT_GUILD_TIMEZONE = env.str("DEFAULT_GUILD_TIMEZONE", default="UTC")
if DEFAULT_GUILD_TIMEZONE not in zoneinfo.available_timezones():
    _fail("DEFAULT_GUILD_TIMEZONE", "must be an IANA time zone name such as Europe/Paris")

# ---------------------------------------------------------------------------------------------
# Security headers and cookies (production values; DEBUG relaxes what needs HTTPS)
# ---------------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ---------------------------------------------------------------------------------------------
# REST framework and OpenAPI
# ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tracking Data API",
    "DESCRIPTION": "Clipping and UGC campaign tracking for Discord communities.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# ---------------------------------------------------------------------------------------------
# Area settings. Each area adds its own block here (keep blocks separate to avoid edit clashes).
# ---------------------------------------------------------------------------------------------
# [ingestion settings]
# Apify calls: per-attempt timeout, retries after the first attempt (the SDK backs off exponentially
# from APIFY_RETRY_DELAY_MS). Profile-verification actors default to the metrics actors
# (each platform's spec, tracking/platforms/<platform>.py).
APIFY_HTTP_TIMEOUT_MS = env.int("APIFY_HTTP_TIMEOUT_MS", default=30_000)
APIFY_MAX_RETRIES = env.int("APIFY_MAX_RETRIES", default=3)
APIFY_RETRY_DELAY_MS = env.int("APIFY_RETRY_DELAY_MS", default=500)
if APIFY_HTTP_TIMEOUT_MS < 1 or APIFY_MAX_RETRIES < 0 or APIFY_RETRY_DELAY_MS < 0:
    _fail("APIFY_HTTP_TIMEOUT_MS/APIFY_MAX_RETRIES/APIFY_RETRY_DELAY_MS", "must be positive numbers")
APIFY_TIKTOK_PROFILE_ACTOR_ID = env.str("APIFY_TIKTOK_PROFILE_ACTOR_ID", default="clockworks/tiktok-scraper")
APIFY_INSTAGRAM_PROFILE_ACTOR_ID = env.str("APIFY_INSTAGRAM_PROFILE_ACTOR_ID", default="apify/instagram-scraper")

# [api settings]
# Dashboard tokens (dashboard_auth/tokens.py): HS256 only; issuer and audience are checked on every request.
JWT_ISSUER = env.str("JWT_ISSUER", default="tracking-data")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="tracking-data-dashboard")
if JWT_ACCESS_TTL_SECONDS < 30 or JWT_ACCESS_TTL_SECONDS > 3600:
    _fail("JWT_ACCESS_TTL_SECONDS", "must be between 30 and 3600 seconds")
if REFRESH_TOKEN_TTL_SECONDS < 300:
    _fail("REFRESH_TOKEN_TTL_SECONDS", "must be at least 300 seconds")
# Where "Login with Discord" ends (the dashboard page) and where a failed login is sent.
DASHBOARD_HOME_URL = env.str("DASHBOARD_HOME_URL", default="/dashboard/")
DASHBOARD_LOGIN_ERROR_URL = env.str("DASHBOARD_LOGIN_ERROR_URL", default="/")
# How long a user's manageable-guild list is cached (re-checked with Discord on every refresh).
DASHBOARD_GUILDS_CACHE_SECONDS = env.int("DASHBOARD_GUILDS_CACHE_SECONDS", default=REFRESH_TOKEN_TTL_SECONDS)


def _rate(name: str, default: str) -> str:
    value = env.str(name, default=default)
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in ("s", "m", "h", "d"):
        _fail(name, "must look like 10/m (a count per s, m, h or d)")
    return value


# Rate limits (django-ratelimit on the shared cache): per client IP, and per service key.
RATE_LIMIT_LOGIN = _rate("RATE_LIMIT_LOGIN", "10/m")
RATE_LIMIT_REFRESH = _rate("RATE_LIMIT_REFRESH", "30/m")
RATE_LIMIT_BOT_PER_KEY = _rate("RATE_LIMIT_BOT_PER_KEY", "600/m")
RATE_LIMIT_BOT_PER_IP = _rate("RATE_LIMIT_BOT_PER_IP", "600/m")
# Invalid API keys one address may present before it is refused outright (429) for the window.
RATE_LIMIT_KEY_FAILURES = _rate("RATE_LIMIT_KEY_FAILURES", "20/m")
# Brand report pages (public links, no login) one address may open per window.
RATE_LIMIT_BRAND_REPORT = _rate("RATE_LIMIT_BRAND_REPORT", "30/m")
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
    "dashboard_auth.pipeline.load_manageable_guilds",
)
SOCIAL_AUTH_LOGIN_REDIRECT_URL = DASHBOARD_HOME_URL
SOCIAL_AUTH_LOGIN_ERROR_URL = DASHBOARD_LOGIN_ERROR_URL
SOCIAL_AUTH_REDIRECT_IS_HTTPS = not DEBUG
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "core.api.errors.api_exception_handler"
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    # No NUL characters or unpaired surrogates (PostgreSQL cannot store them), no runaway nesting.
    "core.api.parsers.StrictJSONParser",
    "core.api.parsers.StrictFormParser",
    "core.api.parsers.StrictMultiPartParser",
]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "core.api.schema.ApiAutoSchema"
# DRF's two default renderers; the JSON one also writes row text PostgreSQL already wrote as JSON
# (core/api/renderers.py: lists built from columns, issue 17), byte for byte what DRF's would.
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
    "core.api.renderers.JSONRenderer",
    "rest_framework.renderers.BrowsableAPIRenderer",
]
SPECTACULAR_SETTINGS.update(
    {
        "COMPONENT_SPLIT_REQUEST": True,
        # Swagger UI and Redoc are served from our own static files (drf-spectacular-sidecar, pinned
        # in requirements.txt): the docs work without internet and the page loads nothing third-party.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "SCHEMA_PATH_PREFIX": r"/api/v1",
        "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
        "SERVE_AUTHENTICATION": [],
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "core.api.schema.postprocess_id_parameters",
        ],
        "ENUM_NAME_OVERRIDES": {"PostStatusEnum": "tracking.models.Post.Status"},
        # Login with Discord is two plain redirects (not DRF views); documented here.
        "APPEND_PATHS": {
            "/api/v1/auth/discord/login": {
                "get": {
                    "operationId": "auth_discord_login",
                    "tags": ["auth"],
                    "summary": "Start Login with Discord (302 to Discord's consent screen).",
                    "security": [{}],
                    "responses": {
                        "302": {"description": "To Discord (scopes identify, guilds)."},
                        "429": {"description": "Too many login attempts from this IP; see Retry-After."},
                    },
                }
            },
            "/api/v1/auth/discord/callback": {
                "get": {
                    "operationId": "auth_discord_callback",
                    "tags": ["auth"],
                    "summary": "Discord's redirect back: sets the token cookies and hands over to /dashboard/.",
                    "description": "A failed login (denied, state mismatch, OAuth error) redirects to "
                    "/?login_error=<code> and is recorded as a login_failed security event.",
                    "security": [{}],
                    "parameters": [
                        {"name": "code", "in": "query", "schema": {"type": "string"}},
                        {"name": "state", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "Signed in: a same-origin page that moves on to /dashboard/ (so the "
                            "SameSite=Strict cookies go with that request)."
                        },
                        "302": {"description": "A failed login: to /?login_error=<code>."},
                        "429": {"description": "Too many login attempts from this IP; see Retry-After."},
                    },
                }
            },
        },
    }
)

# [scheduler settings]
# Broker: CELERY_BROKER_URL, or REDIS_URL when CELERY_USE_REDIS_BROKER=true. A Redis cache alone does
# not switch workers on: queued tasks with no worker would never run, while `manage.py track` would.
if not CELERY_BROKER_URL and env.bool("CELERY_USE_REDIS_BROKER", default=False):
    if not REDIS_URL:
        _fail("CELERY_USE_REDIS_BROKER", "needs REDIS_URL (or VALKEY_URL) to be set")
    CELERY_BROKER_URL = REDIS_URL
if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "amqps://", "sqs://")):
    _fail("CELERY_BROKER_URL", "must be a redis://, rediss://, amqp://, amqps:// or sqs:// URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# Every task ends within CELERY_TASK_TIME_LIMIT_SECONDS (soft limit 30 s earlier). A message a worker
# took and did not acknowledge (it died: acks_late + reject_on_worker_lost) comes back after the
# broker's visibility timeout — set just above the longest task, not Redis's default of one hour.
# Paid work never waits for it: an accepted webhook is a row the sweeper processes within
# WEBHOOK_DELIVERY_LEASE_SECONDS + WEBHOOK_DELIVERY_SWEEP_SECONDS.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT_SECONDS", default=600)
if CELERY_TASK_TIME_LIMIT < 60:
    _fail("CELERY_TASK_TIME_LIMIT_SECONDS", "must be at least 60")
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 60}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # worker and beat log through core.logging (JSON, redacted)
CELERY_WORKER_REDIRECT_STDOUTS = False


def _scheduler_int(name: str, default: int, low: int, high: int) -> int:
    value = env.int(name, default=default)
    if not low <= value <= high:
        _fail(name, f"must be between {low} and {high}")
    return value


def _scheduler_float(name: str, default: float, low: float, high: float) -> float:
    value = env.float(name, default=default)
    if not low <= value <= high:
        _fail(name, f"must be between {low} and {high}")
    return value


# How often `manage.py track` plans refreshes (beat runs metrics.tasks.plan_refreshes every 5 minutes).
SCHEDULER_CYCLE_SECONDS = _scheduler_int("SCHEDULER_CYCLE_SECONDS", 300, 10, 3600)
# Most posts one cycle sends to vendors, over all guilds (and most due posts read per guild).
SCHEDULER_MAX_POSTS_PER_CYCLE = _scheduler_int("SCHEDULER_MAX_POSTS_PER_CYCLE", 5000, 1, 1_000_000)
# Most Apify runs / YouTube calls one guild gets per cycle (fairness between guilds).
SCHEDULER_MAX_BATCHES_PER_GUILD_PER_CYCLE = _scheduler_int("SCHEDULER_MAX_BATCHES_PER_GUILD_PER_CYCLE", 10, 1, 1000)
# A post in a run that was just started is not due again before this (the run's results reset it).
SCHEDULER_INFLIGHT_GRACE_MINUTES = _scheduler_int("SCHEDULER_INFLIGHT_GRACE_MINUTES", 30, 1, 24 * 60)
# Coalescing: a post may wait this share of its interval for a batch, and be fetched this share early.
SCHEDULER_MAX_DELAY_FRACTION = _scheduler_float("SCHEDULER_MAX_DELAY_FRACTION", 0.25, 0.0, 1.0)
SCHEDULER_LOOKAHEAD_FRACTION = _scheduler_float("SCHEDULER_LOOKAHEAD_FRACTION", 0.25, 0.0, 1.0)
SCHEDULER_LOOKAHEAD_MAX_MINUTES = _scheduler_int("SCHEDULER_LOOKAHEAD_MAX_MINUTES", 30, 0, 24 * 60)
# When a guild has spent more than an even pace of its daily Apify runs, runs are filled first:
SCHEDULER_FILL_LOOKAHEAD_FRACTION = _scheduler_float("SCHEDULER_FILL_LOOKAHEAD_FRACTION", 0.5, 0.0, 1.0)
SCHEDULER_FILL_LOOKAHEAD_MAX_MINUTES = _scheduler_int("SCHEDULER_FILL_LOOKAHEAD_MAX_MINUTES", 360, 0, 24 * 60)
SCHEDULER_MIN_FILL = _scheduler_float("SCHEDULER_MIN_FILL", 0.5, 0.0, 1.0)
SCHEDULER_MAX_WAIT_FRACTION = _scheduler_float("SCHEDULER_MAX_WAIT_FRACTION", 1.0, 0.0, 10.0)
SCHEDULER_NEW_POST_MAX_WAIT_MINUTES = _scheduler_int("SCHEDULER_NEW_POST_MAX_WAIT_MINUTES", 60, 0, 24 * 60)
SCHEDULER_NEW_POST_PRIORITY = _scheduler_float("SCHEDULER_NEW_POST_PRIORITY", 1000.0, 0.0, 1e9)
# Pacing: keep this share of the daily budget for the rest of the UTC day (0 = spend as needed).
SCHEDULER_BUDGET_RESERVE_SHARE = _scheduler_float("SCHEDULER_BUDGET_RESERVE_SHARE", 0.5, 0.0, 1.0)
# Heat: views gained per hour as a share of max(views, SCHEDULER_GROWTH_VIEWS_FLOOR).
SCHEDULER_GROWTH_VIEWS_FLOOR = _scheduler_int("SCHEDULER_GROWTH_VIEWS_FLOOR", 1000, 1, 10**9)
SCHEDULER_HOT_GROWTH_RATE = _scheduler_float("SCHEDULER_HOT_GROWTH_RATE", 0.02, 0.0, 10.0)
SCHEDULER_GROWING_GROWTH_RATE = _scheduler_float("SCHEDULER_GROWING_GROWTH_RATE", 0.0025, 0.0, 10.0)
SCHEDULER_FLAT_GROWTH_RATE = _scheduler_float("SCHEDULER_FLAT_GROWTH_RATE", 0.0002, 0.0, 10.0)

# [discord settings]
# Guild that `discord_register_commands` registers to when --guild is not given (instant updates
# while developing); empty = global commands (Discord takes up to an hour to show changes).
DISCORD_COMMANDS_GUILD_ID = env.str("DISCORD_COMMANDS_GUILD_ID", default="")
if DISCORD_COMMANDS_GUILD_ID and not DISCORD_COMMANDS_GUILD_ID.isdigit():
    _fail("DISCORD_COMMANDS_GUILD_ID", "must be a Discord guild id (digits)")
# Channel notifications: attempts before a transiently failing message is marked failed.
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
if NOTIFY_MAX_ATTEMPTS < 1:
    _fail("NOTIFY_MAX_ATTEMPTS", "must be at least 1")
# Daily reports: how many top posts and creators are listed.
DAILY_REPORT_TOP_N = env.int("DAILY_REPORT_TOP_N", default=5)
# Security alerts (SECURITY_ALERT_WEBHOOK_URL): a burst is THRESHOLD events of one kind within
# WINDOW seconds; at most one alert per kind per COOLDOWN seconds. Refresh-token reuse always alerts.
SECURITY_ALERT_BURST_THRESHOLD = env.int("SECURITY_ALERT_BURST_THRESHOLD", default=10)
SECURITY_ALERT_BURST_WINDOW_SECONDS = env.int("SECURITY_ALERT_BURST_WINDOW_SECONDS", default=300)
SECURITY_EVENT_WINDOW_SECONDS = env.int("SECURITY_EVENT_WINDOW_SECONDS", default=60)
if SECURITY_EVENT_WINDOW_SECONDS < 1:
    _fail("SECURITY_EVENT_WINDOW_SECONDS", "must be at least 1")
SECURITY_ALERT_COOLDOWN_SECONDS = env.int("SECURITY_ALERT_COOLDOWN_SECONDS", default=900)
if SECURITY_ALERT_BURST_THRESHOLD < 1 or SECURITY_ALERT_BURST_WINDOW_SECONDS < 1 or SECURITY_ALERT_COOLDOWN_SECONDS < 1:
    _fail("SECURITY_ALERT_BURST_THRESHOLD/WINDOW_SECONDS/COOLDOWN_SECONDS", "must be positive integers")
# Bot callbacks: first retry after BASE seconds, doubling up to MAX, until WEBHOOK_DISPATCH_TTL_SECONDS.
BOT_CALLBACK_RETRY_BASE_SECONDS = env.int("BOT_CALLBACK_RETRY_BASE_SECONDS", default=30)
BOT_CALLBACK_RETRY_MAX_SECONDS = env.int("BOT_CALLBACK_RETRY_MAX_SECONDS", default=3600)
if not 1 <= BOT_CALLBACK_RETRY_BASE_SECONDS <= BOT_CALLBACK_RETRY_MAX_SECONDS:
    _fail("BOT_CALLBACK_RETRY_BASE_SECONDS", "must be at least 1 and at most BOT_CALLBACK_RETRY_MAX_SECONDS")

# [ops settings]
# Request body limit, checked from Content-Length before anything reads the body (413 with JSON).
# DATA_UPLOAD_MAX_MEMORY_SIZE above reads the same variable, for chunked bodies.
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=2 * 1024 * 1024)
if REQUEST_MAX_BODY_BYTES < 1024:
    _fail("REQUEST_MAX_BODY_BYTES", "must be at least 1024 bytes")
# multipart/form-data (screenshot uploads) may be larger: the screenshot limit plus form overhead.
REQUEST_MAX_UPLOAD_BYTES = env.int("REQUEST_MAX_UPLOAD_BYTES", default=SCREENSHOT_MAX_BYTES + 64 * 1024)
# Content-Security-Policy overrides (empty: the strict defaults in tracking/middleware.py).
CSP_DEFAULT = env.str("CSP_DEFAULT", default="")
CSP_ADMIN = env.str("CSP_ADMIN", default="")
CSP_DOCS = env.str("CSP_DOCS", default="")
PERMISSIONS_POLICY = env.str("PERMISSIONS_POLICY", default="")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# prometheus_client reads PROMETHEUS_MULTIPROC_DIR from the process environment itself; checked here
# so that a missing directory stops start-up instead of failing the first request.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    _fail("PROMETHEUS_MULTIPROC_DIR", "must be an existing directory (gunicorn.conf.py creates it)")
# django-structlog would take the IP from any X-Forwarded-For (ipware); tracking.observability binds
# the one core.client_ip trusts instead.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
_after = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE.insert(_after, "core.middleware.SecurityHeadersMiddleware")
_after = MIDDLEWARE.index("django_structlog.middlewares.RequestMiddleware") + 1
MIDDLEWARE[_after:_after] = [
    "tracking.observability.MetricsMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
]

# Covering indexes (INCLUDE) are PostgreSQL's; on SQLite Django builds the same index without the
# extra columns and says so on every command (models.W040). That is the intended embedded default.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# [dashboard settings]
# How long a finished day's bar of the overview chart, and the overview's comparisons with yesterday
# and last week, are cached (0 = off).
DASHBOARD_CHART_CACHE_SECONDS = env.int("DASHBOARD_CHART_CACHE_SECONDS", default=300)

# [submissions settings]
PROFILE_VERIFICATION_CODE_TTL_MINUTES = env.int("PROFILE_VERIFICATION_CODE_TTL_MINUTES", default=60)
if not 1 <= PROFILE_VERIFICATION_CODE_TTL_MINUTES <= 7 * 24 * 60:
    _fail("PROFILE_VERIFICATION_CODE_TTL_MINUTES", "must be between 1 and 10080 minutes (one week)")

# ---------------------------------------------------------------------------------------------
# Retention (tracking/retention.py, `manage.py purge`): days each kind of traffic record is kept.
# ---------------------------------------------------------------------------------------------
RETENTION_WEBHOOK_DELIVERIES_DAYS = env.int("RETENTION_WEBHOOK_DELIVERIES_DAYS", default=30)
RETENTION_NOTIFICATIONS_DAYS = env.int("RETENTION_NOTIFICATIONS_DAYS", default=90)
RETENTION_BOT_CALLBACKS_DAYS = env.int("RETENTION_BOT_CALLBACKS_DAYS", default=30)
RETENTION_SECURITY_EVENTS_DAYS = env.int("RETENTION_SECURITY_EVENTS_DAYS", default=180)
RETENTION_SESSIONS_DAYS = env.int("RETENTION_SESSIONS_DAYS", default=30)
RETENTION_LOGIN_RECORDS_DAYS = env.int("RETENTION_LOGIN_RECORDS_DAYS", default=90)
if (
    min(
        RETENTION_WEBHOOK_DELIVERIES_DAYS,
        RETENTION_NOTIFICATIONS_DAYS,
        RETENTION_BOT_CALLBACKS_DAYS,
        RETENTION_SECURITY_EVENTS_DAYS,
        RETENTION_SESSIONS_DAYS,
        RETENTION_LOGIN_RECORDS_DAYS,
    )
    < 1
):
    _fail("RETENTION_*_DAYS", "must be at least 1 day")
if RETENTION_WEBHOOK_DELIVERIES_DAYS * 86400 < WEBHOOK_DISPATCH_TTL_SECONDS:
    _fail("RETENTION_WEBHOOK_DELIVERIES_DAYS", "must keep deliveries at least WEBHOOK_DISPATCH_TTL_SECONDS")

# ---------------------------------------------------------------------------------------------
# Logging: JSON lines (structlog), request id on every line of a request, secrets redacted.
# ---------------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    _fail("LOG_LEVEL", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
LOG_PATH = env.str("LOG_PATH", default="")

from core.logging import configure_logging  # noqa: E402  (needs the values above)

LOGGING_CONFIG = None
configure_logging(level=LOG_LEVEL, path=LOG_PATH)
DJANGO_STRUCTLOG_CELERY_ENABLED = False
