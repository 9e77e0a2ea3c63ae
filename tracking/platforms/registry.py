"""The platforms we track, in one registry that every surface reads.

The built-in platforms are registered by ``tracking.platforms`` when it is imported, in the order
people see them (TikTok, Instagram, YouTube, X, Facebook). Everything that lists, loops over or
dispatches on platforms asks this module, so a spec registered here — at start-up, or for the length
of a test with ``temporarily_registered`` — shows up everywhere without editing those surfaces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tracking.platforms.spec import PlatformSpec

_SPECS: dict[str, PlatformSpec] = {}
# Lists handed out by live_list, with how each entry is rendered; refreshed on every change.
_LIVE_LISTS: list[tuple[list[Any], Callable[[PlatformSpec], Any]]] = []


class UnknownPlatform(LookupError):
    """A platform key no spec is registered for: a bug or a removed platform, never a person's typo
    (surfaces that take a platform from a person check ``is_registered`` and answer in words)."""

    def __init__(self, key: object) -> None:
        super().__init__(f"Unknown platform {key!r}; the registered platforms are {', '.join(_SPECS)}.")
        self.key = key


def register(spec: PlatformSpec) -> PlatformSpec:
    """Add ``spec`` after the registered platforms. Raises ValueError when its key or one of its hosts
    is already taken, so a link can never belong to two platforms."""
    if spec.key in _SPECS:
        raise ValueError(f"Platform {spec.key!r} is already registered.")
    for other in _SPECS.values():
        shared = set(spec.hosts) & set(other.hosts)
        if shared:
            raise ValueError(f"Platform {spec.key!r} claims {', '.join(sorted(shared))}, already {other.key!r}'s.")
    _SPECS[spec.key] = spec
    _refresh_live_lists()
    return spec


def unregister(key: str) -> None:
    """Remove the platform ``key``; raises UnknownPlatform when it is not registered."""
    if key not in _SPECS:
        raise UnknownPlatform(key)
    del _SPECS[key]
    _refresh_live_lists()


def get(key: str) -> PlatformSpec:
    """The spec of platform ``key``; raises UnknownPlatform for a key nobody registered."""
    try:
        return _SPECS[key]
    except (KeyError, TypeError):
        raise UnknownPlatform(key) from None


def is_registered(key: object) -> bool:
    """True when ``key`` names a registered platform (any object may be asked, e.g. user input)."""
    return isinstance(key, str) and key in _SPECS


def all_specs() -> tuple[PlatformSpec, ...]:
    """Every registered platform, in registration order."""
    return tuple(_SPECS.values())


def keys() -> tuple[str, ...]:
    """Every registered platform's key ("tiktok", ...), in registration order."""
    return tuple(_SPECS)


def choices() -> list[tuple[str, str]]:
    """``[(key, label), ...]``: pass the function itself as a model or form field's ``choices=`` (Django
    calls it when it needs the choices, and migrations refer to it by name, so a new platform needs no
    migration)."""
    return [(spec.key, spec.label) for spec in _SPECS.values()]


def live_list(render: Callable[[PlatformSpec], Any]) -> list[Any]:
    """A real list of ``render(spec)`` for every platform that the registry keeps current, for module
    constants built once at import (slash-command definitions) that must still show every platform."""
    rendered: list[Any] = [render(spec) for spec in _SPECS.values()]
    _LIVE_LISTS.append((rendered, render))
    return rendered


def _refresh_live_lists() -> None:
    for rendered, render in _LIVE_LISTS:
        rendered[:] = [render(spec) for spec in _SPECS.values()]


@contextmanager
def temporarily_registered(spec: PlatformSpec) -> Iterator[PlatformSpec]:
    """Register ``spec`` for the length of the ``with`` block (tests of a platform that is not built in)."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec.key)
