"""Who may open a guild's dashboard pages, and who may change its settings.

    @guild_page                  # logged in (else → "/"), the URL's guild is one of the user's (else 404)
    def overview(request, guild_id): request.guild, request.guild_access ...

    @guild_page(admin=True)      # changes: owner or ADMINISTRATOR, else the 403 page

Another guild — one the user cannot manage, or one we do not know — is a 404, never a 403, so a
page never confirms that a guild exists. The access list is dashboard_auth's cached Discord answer
(no query, no Discord call per request).
"""

from __future__ import annotations

import functools

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from dashboard_auth.auth import access_to, dashboard_login_required
from guilds.models import Guild


def forbidden(request, message: str):
    """The 403 page: the user may see this guild but not change this."""
    return render(request, "dashboard/403.html", {"message": message}, status=403)


def _attach_guild(request, guild_id: int) -> None:
    access = access_to(user_id=request.dashboard_user.user_id, guild_id=guild_id)
    if access is None:
        raise Http404("No such guild.")
    # Runs inside GuildScopeMiddleware's guild_scope(guild_id): the row is visible only for this guild.
    guild = Guild.objects.filter(pk=guild_id, active=True).select_related("budget").first()
    if guild is None:
        raise Http404("No such guild.")
    request.guild = guild
    request.guild_access = access


def guild_page(view=None, *, admin: bool = False, admin_methods: tuple[str, ...] = ("POST",)):
    """Decorate a view taking ``guild_id``: login, guild access (404), and for ``admin`` pages the
    owner/ADMINISTRATOR check on ``admin_methods`` (403 page)."""

    def decorate(fn):
        @dashboard_login_required
        @functools.wraps(fn)
        def wrapper(request, guild_id: int, *args, **kwargs):
            _attach_guild(request, guild_id)
            if admin and request.method in admin_methods and not request.guild_access.can_admin:
                return forbidden(request, "Only the server owner or an administrator can change this.")
            with timezone.override(request.guild.tz):  # dates on the page in the guild's time zone
                return fn(request, guild_id, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
