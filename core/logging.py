"""JSON logging through structlog, with secrets scrubbed before anything is written.

Every line is one JSON object. Inside a request, django-structlog binds ``request_id`` (and the
client ip) to the context, so every line the request logs carries it. ``redact`` runs last before
rendering: keys that look like secrets are replaced, and secret-looking query parameters inside
string values (``?code=…``, ``token=…``) are masked, so a careless ``log.info(..., url=url)`` cannot
leak a token.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

import structlog

_SECRET_KEY = re.compile(
    r"(secret|token|password|passwd|authorization|cookie|api[_-]?key|signature|session|code_verifier)",
    re.IGNORECASE,
)
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:code|state|token|access_token|refresh_token|key|api_key|apikey|api-key|signature|secret"
    r"|password|passwd|auth|jwt|session|sessionid)=)[^&#\s\"']+"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_WEBHOOK_URL = re.compile(r"(discord(?:app)?\.com/api/webhooks/\d+/)[A-Za-z0-9._-]+")
_BRAND_REPORT = re.compile(r"(/brand-report/)[^/\s\"'?#]+")  # the token of a brand report link
REDACTED = "[redacted]"


def scrub(value: Any) -> Any:
    """Mask secrets inside a value (strings are searched; containers are walked)."""
    if isinstance(value, str):
        value = _SECRET_QUERY.sub(r"\1" + REDACTED, value)
        value = _BEARER.sub(r"\1" + REDACTED, value)
        value = _WEBHOOK_URL.sub(r"\1" + REDACTED, value)
        return _BRAND_REPORT.sub(r"\1" + REDACTED, value)
    if isinstance(value, dict):
        return {k: (REDACTED if _SECRET_KEY.search(str(k)) else scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v) for v in value)
    return value


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: scrub every key except structlog's own bookkeeping."""
    for key, value in list(event_dict.items()):
        if key in ("event", "timestamp", "level", "logger", "request_id"):
            event_dict[key] = scrub(value) if key == "event" else value
        elif _SECRET_KEY.search(key) and key not in ("session_id",):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = scrub(value)
    return event_dict


def configure_logging(*, level: str, path: str = "") -> None:
    """Send every logger (Django's too) through structlog's JSON renderer to the console or a file."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    handler: dict[str, Any] = {"class": "logging.StreamHandler", "formatter": "json"}
    if path:
        handler = {"class": "logging.handlers.WatchedFileHandler", "filename": path, "formatter": "json"}
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        redact,
                        structlog.processors.format_exc_info,
                        structlog.processors.JSONRenderer(),
                    ],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {"default": handler},
            "root": {"handlers": ["default"], "level": level},
            "loggers": {
                "django.db.backends": {"level": "WARNING"},
                "django.server": {"level": "WARNING"},
                "django_structlog": {"level": level},
            },
        }
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
