"""Tenant scoping: one context manager, one middleware, one logged bypass.

Two layers keep a guild's data in its guild. Application code filters through guild-scoped
querysets (``Post.objects.for_guild(guild)``); on PostgreSQL, row-level security (core/rls.py)
makes a forgotten filter return nothing.

    with guild_scope(guild.id):          # reads and writes see this guild only
        ...
    with rls_bypass(reason="scheduler"):  # cross-guild work; logged every time
        ...

A scope says *whose* data the running code works on; it does not open a transaction. Each service
owns its ``transaction.atomic``; a vendor call between two of them runs with the scope set and no
transaction open (reserve → call → record, see the README's architecture section). On PostgreSQL
the database backend (core.db.postgresql) writes the scope's tenant into the connection before the
next statement whenever it differs from what the connection holds, so every statement — in a
transaction or not — runs as exactly the current scope's tenant, and a pooled connection can never
carry one request's guild into the next. With no scope at all, PostgreSQL returns no guild rows and
refuses guild writes (fail closed).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from django.http import Http404

from core.snowflakes import parse_id

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


def db_settings_wanted() -> tuple[str, str]:
    """(app.guild_id, app.rls_bypass) as the database must hold them for the running code."""
    guild_id = _current_guild.get()
    return ("" if guild_id is None else str(guild_id), "on" if _bypassing.get() else "")


@contextmanager
def _scoped(*, guild_id: int | None, bypassing: bool) -> Iterator[None]:
    guild_token = _current_guild.set(guild_id)
    bypass_token = _bypassing.set(bypassing)
    try:
        yield
    finally:
        _current_guild.reset(guild_token)
        _bypassing.reset(bypass_token)


@contextmanager
def guild_scope(guild_id: int) -> Iterator[None]:
    """Run the block as ``guild_id``: its statements can see and change that guild's rows only."""
    with _scoped(guild_id=int(guild_id), bypassing=False):
        yield


@contextmanager
def rls_bypass(*, reason: str) -> Iterator[None]:
    """Run cross-guild work (scheduler, staff, reports for every guild). Always logged."""
    log.info("rls_bypass", reason=reason)
    with _scoped(guild_id=None, bypassing=True):
        yield


class GuildScopeMiddleware:
    """Runs every view that takes a ``guild_id`` URL argument inside that guild's scope.

    The view's own permission check still decides whether the caller may see the guild; this only
    guarantees that whatever the view reads or writes belongs to the guild in the URL. No transaction
    is opened here: the services a view calls own theirs.
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
        guild_id = parse_id(raw)
        if guild_id is None:
            raise Http404("No such guild.")
        with guild_scope(guild_id):
            return self._render(view_func(request, *view_args, **view_kwargs))

    @staticmethod
    def _render(response):
        # Template responses render lazily; render inside the scope so their queries see the guild.
        if callable(getattr(response, "render", None)) and not getattr(response, "is_rendered", True):
            response = response.render()
        return response
