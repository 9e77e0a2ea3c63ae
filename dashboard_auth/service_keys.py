"""Service principals: API service keys (API_SERVICE_KEYS) and the internal secret (API_SECRET).

A presented key is compared with *every* configured key in constant time (hmac.compare_digest, no
early exit), so the time taken says nothing about which key or how much of it matched. A key whose
name is in RevokedServiceKey is refused. ``X-Internal-Secret`` (server-side calls) has every scope.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, router

from dashboard_auth.models import RevokedServiceKey

SCOPES = ("bot.read", "bot.write", "guilds.read", "guilds.write")


@dataclass(frozen=True)
class ServicePrincipal:
    """Who called with a service key. ``internal``: the API_SECRET holder, allowed everything."""

    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    internal: bool = False

    is_authenticated = True
    kind = "service"

    def has_scope(self, scope: str) -> bool:
        return self.internal or scope in self.scopes

    @property
    def actor(self) -> str:
        return f"service:{self.name}"


class ServiceKeyRefused(Exception):
    def __init__(self, code: str, message: str, *, name: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.name = name


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def principal_for_key(presented: str) -> ServicePrincipal:
    """The principal a service key belongs to. Raises ServiceKeyRefused (unknown or revoked)."""
    match: tuple[str, frozenset[str]] | None = None
    for name, key, scopes in settings.API_SERVICE_KEYS:
        equal = _same(presented, key)  # always computed: no early exit
        if equal and match is None:
            match = (name, scopes)
    if match is None:
        raise ServiceKeyRefused("unknown_key", "The API key is not valid.")
    if _revoked(match[0]):
        raise ServiceKeyRefused("revoked_key", "This API key was revoked.", name=match[0])
    return ServicePrincipal(name=match[0], scopes=frozenset(match[1]))


def _revoked(name: str) -> bool:
    """Whether the key named ``name`` is revoked: asked on every request, never cached (a revocation
    applies to the next request on every worker). The ORM's ``exists()`` costs more to build than the
    look-up takes, on every service-key request (issue 17), so the statement is written once here."""
    table = connections[router.db_for_read(RevokedServiceKey)].ops.quote_name(RevokedServiceKey._meta.db_table)
    with connections[router.db_for_read(RevokedServiceKey)].cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE name = %s LIMIT 1", [name])  # noqa: S608 - our table's name
        return cursor.fetchone() is not None


def principal_for_internal_secret(presented: str) -> ServicePrincipal:
    """The server-side caller holding API_SECRET. Raises ServiceKeyRefused."""
    if not settings.API_SECRET or not _same(presented, settings.API_SECRET):
        raise ServiceKeyRefused("invalid_internal_secret", "The internal secret is not valid.")
    return ServicePrincipal(name="internal", scopes=frozenset(SCOPES), internal=True)
