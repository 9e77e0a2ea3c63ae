"""Staff password logins that keep failing (django-axes): what the locked-out person sees, and the
security event (with its alert) each lockout raises."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils.html import escape

from core.client_ip import client_ip
from dashboard_auth.services import record_security_event


def locked_out_response(request, original_response=None, credentials=None) -> HttpResponse:
    """429 with when to try again and who can unlock sooner (AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    body = (
        "<!doctype html><title>Too many failed logins</title><h1>Too many failed logins</h1>"
        f"<p>This account or address is locked for {minutes} minutes after {settings.AXES_FAILURE_LIMIT} "
        "wrong passwords. Try again later, or ask another staff member to unlock it (admin → Axes → "
        "Access attempts).</p>"
    )
    response = HttpResponse(body, status=429, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


def on_user_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """axes.signals.user_locked_out → one security event (kind admin_lockout; always alerted)."""
    ip = client_ip(request) if request is not None else ip_address
    who = escape(str(username or "?"))[:60]
    record_security_event(kind="admin_lockout", source="admin_login", reason=f"locked out user {who}", ip=ip)
