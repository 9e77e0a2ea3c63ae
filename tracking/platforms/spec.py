"""``PlatformSpec``: everything that differs from one social platform to the next, in one value.

Every surface (link parsing, handles, Apify actors and their items, demo data, the simulator, the
dashboard, slash commands, management commands) reads these fields through the registry instead of
naming platforms, so a platform is added by writing one spec module and registering it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tracking.platforms.items import ItemReader, MetricsItem, ProfileItem
from tracking.platforms.links import Link, PostRef

Collector = Literal["apify", "youtube_api"]
Verifier = Literal["apify", "youtube_api", "staff"]

# Keys are stored in CharField(max_length=10) columns and used in CSS classes and URLs.
_KEY = re.compile(r"[a-z][a-z0-9_]{0,9}")
_HOST = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")


@dataclass(frozen=True)
class HandleRule:
    """What a handle on the platform may look like (matched against the casefolded handle), and the
    same in words for the person who typed a wrong one."""

    pattern: re.Pattern[str]
    description: str


@dataclass(frozen=True)
class MetricsActor:
    """The Apify actor that scrapes the platform's posts.

    ``setting`` names the setting that may point at another actor; ``build_input(urls, limit)`` speaks
    the input schema of the *default* actor (``limit`` caps what a pay-per-result actor returns)."""

    setting: str
    default_id: str
    build_input: Callable[[list[str], int], dict[str, Any]]


@dataclass(frozen=True)
class ProfileActor:
    """The Apify actor that returns one profile with its bio, for ownership verification.
    ``build_input(handle)`` gets the handle without "@"."""

    setting: str
    default_id: str
    build_input: Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class PlatformSpec:
    """One social platform, as every part of the product needs to know it.

    Links: ``hosts`` is the exact allow-list of hosts that serve the platform's links (in the order
    suggestions are made), ``host_pattern`` admits families of hosts (Facebook's locale hosts);
    ``brand_fragments`` are substrings, and ``brand_labels`` whole host labels, that make an unknown
    host a look-alike of this platform. ``parse_post`` reads a post link, ``read_profile_handle`` a
    profile link (both get a ``Link`` that passed the generic checks and raise the reasons of
    ``tracking.platforms.links``). ``example_url`` and ``post_noun`` go into refusals;
    ``in_generic_examples`` puts the example into messages that cannot tell which platform was meant.

    Collection: ``collector`` says where the numbers come from; ``verification`` how a profile is
    proven to be the creator's. ``metrics_actor`` and ``profile_actor`` (None when the platform is not
    scraped for that purpose) name Apify actors; ``normalize_metrics`` / ``normalize_profile`` read
    their dataset items (data rows only: error rows never reach them) and build the item with
    ``reader.metrics_item(...)`` / ``ProfileItem``.

    Demo and simulation: ``demo_post(handle, rng)`` gives a plausible ``(external_id, canonical_url)``;
    ``simulated_share`` is the platform's weight in the scheduler simulator's mix of posts.
    """

    key: str
    label: str
    badge_class: str
    hosts: tuple[str, ...]
    brand_fragments: tuple[str, ...]
    example_url: str
    post_noun: str
    parse_post: Callable[[Link], PostRef]
    read_profile_handle: Callable[[Link], str]
    handle_rule: HandleRule
    collector: Collector
    verification: Verifier
    demo_post: Callable[[str, random.Random], tuple[str, str]]
    simulated_share: float
    host_pattern: re.Pattern[str] | None = None
    brand_labels: tuple[str, ...] = ()
    in_generic_examples: bool = False
    metrics_actor: MetricsActor | None = None
    profile_actor: ProfileActor | None = None
    normalize_metrics: Callable[[ItemReader], MetricsItem] | None = None
    normalize_profile: Callable[[ItemReader], ProfileItem] | None = None

    def __post_init__(self) -> None:
        problems = [*self._identity_problems(), *self._collection_problems()]
        if problems:
            raise ValueError(f"PlatformSpec {self.key!r}: " + "; ".join(problems))

    def _identity_problems(self) -> list[str]:
        problems = []
        if not _KEY.fullmatch(self.key):
            problems.append("key must be 1 to 10 lower-case letters, digits or underscores, starting with a letter")
        if not self.hosts or not all(_HOST.fullmatch(host) for host in self.hosts):
            problems.append("hosts must be lower-case host names")
        if self.simulated_share < 0:
            problems.append("simulated_share cannot be negative")
        return problems

    def _collection_problems(self) -> list[str]:
        problems = []
        if self.collector == "apify" and (self.metrics_actor is None or self.normalize_metrics is None):
            problems.append("an Apify-collected platform needs metrics_actor and normalize_metrics")
        if self.verification == "apify" and (self.profile_actor is None or self.normalize_profile is None):
            problems.append("Apify verification needs profile_actor and normalize_profile")
        return problems

    def owns_host(self, host: str) -> bool:
        """True when ``host`` (lower-case, no trailing dot) serves this platform's links."""
        return host in self.hosts or (self.host_pattern is not None and self.host_pattern.fullmatch(host) is not None)
