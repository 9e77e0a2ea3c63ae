"""Tenant scoping: one context manager, one middleware, one logged bypass.

Two layers keep a guild's data in its guild. Application code filters through guild-scoped
querysets (``Post.objects.for_guild(guild)``); on PostgreSQL, row-level security (tracking/rls.py)
makes a forgotten filter return nothing. The guild reaches PostgreSQL per *transaction*, through
``set_config(..., true)`` (the function form of ``SET LOCAL``), never per connection, so a pooled or
persistent connection cannot carry one request's guild into the next.

    with guild_scope(guild.id):          # reads and writes see this guild only
        ...
    with rls_bypass(reason="scheduler"):  # cross-guild work; logged every time
        ...

With no scope at all, PostgreSQL returns no guild rows and refuses guild writes (fail closed).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from django.db import connection, transaction
from django.http import Http404

log = structlog.get_logger(__name__)

GUILD_SETTING = "app.guild_id"
ADMIN_PREFIX = "/admin/"
BYPASS_SETTING = "app.rls_bypass"

_current_guild: contextvars.ContextVar[int | None] = contextvars.ContextVar("guild_id", default=None)
_bypassing: contextvars.ContextVar[bool] = contextvars.ContextVar("rls_bypass", default=False)


def current_guild_id() -> int | None:
    """The guild the current scope is for, or None outside any guild scope."""
    return _current_guild.get()


def is_bypassing() -> bool:
    return _bypassing.get()


def _swap_db_settings(*, guild: str, bypass: str) -> tuple[str, str]:
    """Set both settings for the current transaction and return their previous values."""
    if connection.vendor != "postgresql":
        return ("", "")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), coalesce(current_setting(%s, true), ''),"
            " set_config(%s, %s, true), set_config(%s, %s, true)",
            [GUILD_SETTING, BYPASS_SETTING, GUILD_SETTING, guild, BYPASS_SETTING, bypass],
        )
        previous_guild, previous_bypass, _, _ = cursor.fetchone()
    return previous_guild, previous_bypass


@contextmanager
def _scoped(*, guild: str, bypass: str, guild_id: int | None, bypassing: bool) -> Iterator[None]:
    with transaction.atomic():
        previous = _swap_db_settings(guild=guild, bypass=bypass)
        guild_token = _current_guild.set(guild_id)
        bypass_token = _bypassing.set(bypassing)
        try:
            yield
        finally:
            _current_guild.reset(guild_token)
            _bypassing.reset(bypass_token)
        # Normal exit from a nested scope: put the outer scope's values back. (On an exception the
        # savepoint rollback already restores them: PostgreSQL settings are transactional.)
        _swap_db_settings(guild=previous[0], bypass=previous[1])


@contextmanager
def guild_scope(guild_id: int) -> Iterator[None]:
    """Run the block in a transaction that can see and change ``guild_id``'s rows only."""
    guild_id = int(guild_id)
    with _scoped(guild=str(guild_id), bypass="", guild_id=guild_id, bypassing=False):
        yield


@contextmanager
def rls_bypass(*, reason: str) -> Iterator[None]:
    """Run cross-guild work (scheduler, staff, reports for every guild). Always logged."""
    log.info("rls_bypass", reason=reason)
    with _scoped(guild="", bypass="on", guild_id=None, bypassing=True):
        yield


class GuildScopeMiddleware:
    """Runs every view that takes a ``guild_id`` URL argument inside that guild's scope.

    The view's own permission check still decides whether the caller may see the guild; this only
    guarantees that whatever the view reads or writes belongs to the guild in the URL.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        raw = view_kwargs.get("guild_id")
        if raw is None:
            if request.path.startswith(ADMIN_PREFIX) and getattr(request.user, "is_staff", False):
                # Staff work across guilds in Django admin: an explicit, logged bypass.
                with rls_bypass(reason=f"admin {request.user.get_username()} {request.method} {request.path}"):
                    return self._render(view_func(request, *view_args, **view_kwargs))
            return None
        try:
            guild_id = int(raw)
        except (TypeError, ValueError):
            raise Http404("No such guild.") from None
        with guild_scope(guild_id):
            return self._render(view_func(request, *view_args, **view_kwargs))

    @staticmethod
    def _render(response):
        # Template responses render lazily; render inside the scope so their queries see the guild.
        if callable(getattr(response, "render", None)) and not getattr(response, "is_rendered", True):
            response = response.render()
        return response
