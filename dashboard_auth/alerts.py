"""Security alerts to SECURITY_ALERT_WEBHOOK_URL (a Discord channel webhook), rate-limited.

``record_security_event`` calls ``maybe_alert`` for every event. An alert goes out when:

- the event is a refresh-token reuse (a stolen session) or a staff login locked out after repeated
  wrong passwords: always worth a look; or
- ``SECURITY_ALERT_BURST_THRESHOLD`` events of the same kind arrived within
  ``SECURITY_ALERT_BURST_WINDOW_SECONDS`` (failed logins, rejected webhooks, rejected keys);

and in both cases at most once per kind per ``SECURITY_ALERT_COOLDOWN_SECONDS``, decided with an
atomic ``cache.add`` so that an attack (or many workers) cannot flood the channel. Events that fall
inside the cooldown are counted and the next alert says how many there were.

Sending goes through the one Discord client; any failure (cache down, Discord down, bad URL) is
logged and swallowed: an alert must never turn a refused request into a 500.
"""

from __future__ import annotations

import structlog
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from integrations.discord.client import discord_client
from integrations.discord.messages import Embed

log = structlog.get_logger("security")

ALWAYS_ALERT = frozenset({"refresh_reuse", "admin_lockout"})
BURST_KINDS = frozenset({"login_failed", "webhook_rejected", "key_rejected"})
RED = 0xE74C3C
_PREFIX = "security-alert"


def maybe_alert(*, kind: str, source: str, reason: str, ip: str | None) -> bool:
    """Count the event and send an alert if it completes a burst (or always warrants one) and the
    kind is not cooling down. True when an alert was sent. Never raises."""
    if not settings.SECURITY_ALERT_WEBHOOK_URL or (kind not in ALWAYS_ALERT and kind not in BURST_KINDS):
        return False
    try:
        count = _count_in_window(kind)
        if kind not in ALWAYS_ALERT and count < settings.SECURITY_ALERT_BURST_THRESHOLD:
            return False
        if not cache.add(f"{_PREFIX}:cooldown:{kind}", 1, timeout=settings.SECURITY_ALERT_COOLDOWN_SECONDS):
            _incr(f"{_PREFIX}:suppressed:{kind}", timeout=settings.SECURITY_ALERT_COOLDOWN_SECONDS * 2)
            return False
        suppressed = cache.get(f"{_PREFIX}:suppressed:{kind}") or 0
        cache.delete(f"{_PREFIX}:suppressed:{kind}")
    except Exception:  # the cache is down: the security log line is the record
        log.exception("security_alert_cache_failed", kind=kind)
        return False
    embed = _embed(kind=kind, source=source, reason=reason, ip=ip, count=count, suppressed=suppressed)
    return send_staff_alert(embed=embed)


def send_staff_alert(*, embed: Embed) -> bool:
    """Post one embed to SECURITY_ALERT_WEBHOOK_URL. True when sent; False (logged) otherwise.

    Also used for operational problems staff must fix, such as a guild channel that disappeared.
    """
    url = settings.SECURITY_ALERT_WEBHOOK_URL
    if not url:
        return False
    try:
        # Short timeout and no long 429 waits: this may run inside a request.
        client = discord_client(timeout_s=min(settings.DISCORD_HTTP_TIMEOUT_MS / 1000, 5.0), max_retry_sleep_s=2.0)
        client.send_webhook_message(webhook_url=url, embeds=[embed], username="Tracking Data security")
    except Exception as exc:  # noqa: BLE001 - never raise from an alert
        log.error("security_alert_not_sent", title=embed.title, error=str(exc)[:300])
        return False
    log.info("security_alert_sent", title=embed.title)
    return True


def _count_in_window(kind: str) -> int:
    """Events of ``kind`` in the current window (a fixed window started by the first event)."""
    return _incr(f"{_PREFIX}:count:{kind}", timeout=settings.SECURITY_ALERT_BURST_WINDOW_SECONDS)


def _incr(key: str, *, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)  # atomic: only the first caller creates the key (and its expiry)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def _embed(*, kind: str, source: str, reason: str, ip: str | None, count: int, suppressed: int) -> Embed:
    if kind in ALWAYS_ALERT:
        title = f"Security: {kind.replace('_', ' ')}"
    else:
        window_min = max(1, settings.SECURITY_ALERT_BURST_WINDOW_SECONDS // 60)
        title = f"Security: {count} × {kind.replace('_', ' ')} within {window_min} min"
    fields = [("Source", source or "-", True), ("Latest reason", reason or "-", False), ("IP", ip or "unknown", True)]
    if suppressed:
        fields.append(("Not alerted during the cooldown", str(suppressed), True))
    return Embed(title=title, color=RED, fields=fields, timestamp=timezone.now(), footer="Tracking Data")
