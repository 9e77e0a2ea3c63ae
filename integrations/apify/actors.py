"""Which Apify actor scrapes what, and the input each of those actors expects.

Each platform's spec (tracking/platforms/) names its actors, the settings that may override them
(named as in the integration audit) and the input builders, which speak the input schema of the
*default* actors: pointing a setting at an actor with another input schema needs a matching builder
in that spec. This module only looks them up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tracking.platforms import registry
from tracking.platforms.spec import MetricsActor, PlatformSpec, ProfileActor

Purpose = Literal["metrics", "verification"]


class UnsupportedScrape(ValueError):
    """No Apify actor is configured for this platform and purpose (e.g. YouTube, Facebook verification)."""


def default_actor_ids() -> dict[str, str]:
    """Setting name → default actor id, for every registered platform's actors."""
    defaults: dict[str, str] = {}
    for spec in registry.all_specs():
        for actor in (spec.metrics_actor, spec.profile_actor):
            if actor is not None:
                defaults[actor.setting] = actor.default_id
    return defaults


@dataclass(frozen=True)
class ActorIds:
    """The configured actor id per (platform, purpose). Build it with ``from_mapping``."""

    by_setting: Mapping[str, str]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None = None) -> ActorIds:
        """Read ``APIFY_*_ACTOR_ID`` keys from ``values`` (settings dict, os.environ...); blanks use defaults."""
        values = values or {}
        resolved = {
            name: (str(values.get(name) or "").strip() or default) for name, default in default_actor_ids().items()
        }
        return cls(by_setting=resolved)

    @classmethod
    def from_settings(cls, settings_obj: Any) -> ActorIds:
        """Read the same names as attributes of a settings object (``django.conf.settings``)."""
        return cls.from_mapping({name: getattr(settings_obj, name, None) for name in default_actor_ids()})

    def actor_for(self, *, platform: str, purpose: Purpose) -> str:
        """The actor id ("user/name") to run; raises UnsupportedScrape when the platform has no actor for
        ``purpose``, UnknownPlatform (tracking.platforms.registry) for an unregistered platform."""
        actor = _actor(registry.get(platform), purpose)
        if actor is None:
            raise UnsupportedScrape(f"No Apify actor for {platform} {purpose}")
        return self.by_setting[actor.setting]


def actor_for(*, platform: str, purpose: Purpose, settings_obj: Any) -> str:
    """Shortcut for ``ActorIds.from_settings(settings_obj).actor_for(...)``."""
    return ActorIds.from_settings(settings_obj).actor_for(platform=platform, purpose=purpose)


def build_metrics_input(*, platform: str, urls: list[str], max_items: int | None = None) -> dict[str, Any]:
    """Actor input that scrapes exactly the given post URLs (one run covers many posts).

    ``max_items`` caps what a pay-per-result actor may return; it defaults to one item per URL.
    Raises ValueError without URLs, UnsupportedScrape for a platform Apify does not scrape.
    """
    if not urls:
        raise ValueError("build_metrics_input needs at least one URL")
    limit = max_items if max_items is not None else len(urls)
    actor = registry.get(platform).metrics_actor
    if actor is None:
        raise UnsupportedScrape(f"No Apify metrics actor for {platform}")
    return actor.build_input(list(urls), limit)


def build_profile_input(*, platform: str, handle: str) -> dict[str, Any]:
    """Actor input that returns one profile (with its bio) for ownership verification.

    Raises ValueError without a handle, UnsupportedScrape for a platform not verified through Apify.
    """
    handle = handle.strip().lstrip("@")
    if not handle:
        raise ValueError("build_profile_input needs a handle")
    actor = registry.get(platform).profile_actor
    if actor is None:
        raise UnsupportedScrape(f"No Apify verification actor for {platform}")
    return actor.build_input(handle)


def _actor(spec: PlatformSpec, purpose: Purpose) -> MetricsActor | ProfileActor | None:
    return spec.metrics_actor if purpose == "metrics" else spec.profile_actor
