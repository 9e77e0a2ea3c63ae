""" "Log in as the demo admin": try the dashboard on a fresh machine without a Discord application.

Only with DJANGO_DEBUG on and only for a request from this machine (a loopback address and no proxy
header): anywhere else it does not exist (the view answers 404 and the landing page shows no button).
The demo admin is a local user with no password and no Discord identity; it is given owner access
to every active guild in the cache that Login with Discord fills, so the pages behave exactly as for
a real owner. Its access lasts DASHBOARD_GUILDS_CACHE_SECONDS; clicking the button again renews it.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

from core.tenancy import rls_bypass
from dashboard_auth.guild_access import GuildAccess, guild_access_key
from dashboard_auth.sessions import IssuedTokens, start_session
from guilds.models import Guild

DEMO_USERNAME = "demo-admin"
_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


def demo_login_available(request) -> bool:
    """DEBUG on, and the request comes straight from this machine (not through a proxy)."""
    if not settings.DEBUG or any(request.META.get(h) for h in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def start_demo_session(request) -> IssuedTokens:
    """A dashboard session for the demo admin, with owner access to every active guild."""
    user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME, defaults={"is_active": True})
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    with rls_bypass(reason="demo admin login (DEBUG, loopback)"):
        guilds = list(Guild.objects.filter(active=True).order_by("name", "id").values_list("id", "name"))
    access = [GuildAccess(guild_id=gid, name=name, is_owner=True, can_admin=True) for gid, name in guilds]
    cache.set(guild_access_key(user.pk), [a.__dict__ for a in access], settings.DASHBOARD_GUILDS_CACHE_SECONDS)
    return start_session(user=user, request=request)
