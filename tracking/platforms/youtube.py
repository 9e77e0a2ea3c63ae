"""YouTube: links, handles, demo posts. Numbers and channels come from the official Data API
(integrations/youtube), not from Apify, so there are no actors or dataset readers here."""

from __future__ import annotations

import random
import re

from tracking.platforms.links import Link, NotAPost, NotAProfile, PostRef, ProfilePage
from tracking.platforms.spec import HandleRule, PlatformSpec

_SHORT_HOSTS = ("youtu.be", "www.youtu.be")
_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_ID_PATHS = {"shorts", "embed", "live", "v", "e", "watch"}
_CHANNEL_PATHS = {"channel", "c", "user"}
# 11-character path words that are not video ids ("/embed/videoseries?list=..." is a playlist).
_NOT_IDS = {"videoseries"}


def parse_post(link: Link) -> PostRef:
    """A video link: watch, shorts, embed, live, youtu.be."""
    segments = link.segments
    if link.host in _SHORT_HOSTS:
        candidate = segments[0] if segments else None
    elif segments == ("watch",) or (not segments and link.param("v")):
        candidate = link.param("v")
    elif len(segments) >= 2 and segments[0] in _ID_PATHS:
        candidate = segments[1]
    elif segments and (segments[0].startswith("@") or segments[0] in _CHANNEL_PATHS):
        raise ProfilePage()
    else:
        raise NotAPost()
    return _video(candidate)


def _video(candidate: str | None) -> PostRef:
    if candidate is None or candidate in _NOT_IDS or not _ID.fullmatch(candidate):
        raise NotAPost("That YouTube link has no valid video id, so it")
    return PostRef(
        external_id=candidate,
        canonical_url=f"https://www.youtube.com/watch?v={candidate}",
        needs_resolution=False,
    )


def read_profile_handle(link: Link) -> str:
    """The handle of a youtube.com/@handle link (also /@handle/videos, /@handle/shorts ...)."""
    # Legacy /channel/ and /user/ links name no handle, and people paste those too: say where to look.
    segments = link.segments
    if link.host in _SHORT_HOSTS or not segments or not segments[0].startswith("@"):
        raise NotAProfile(
            "That YouTube link does not show your @handle. Open your channel and paste the link that "
            "looks like https://www.youtube.com/@yourname, or type @yourname."
        )
    return segments[0][1:]


def demo_post(handle: str, rng: random.Random) -> tuple[str, str]:
    """A plausible (video id, watch URL)."""
    vid = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") for _ in range(11))
    return vid, f"https://www.youtube.com/watch?v={vid}"


SPEC = PlatformSpec(
    key="youtube",
    label="YouTube",
    badge_class="platform-youtube",
    hosts=(
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "music.youtube.com",
        *_SHORT_HOSTS,
        "youtube-nocookie.com",
        "www.youtube-nocookie.com",
    ),
    brand_fragments=("youtube", "youtu"),
    example_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    in_generic_examples=True,
    post_noun="video",
    parse_post=parse_post,
    read_profile_handle=read_profile_handle,
    # YouTube handles may use letters of any script, so \w rather than [a-z].
    handle_rule=HandleRule(re.compile(r"[\w.-]{3,30}"), "3 to 30 letters, digits, underscores, hyphens or dots"),
    collector="youtube_api",
    verification="youtube_api",
    demo_post=demo_post,
    simulated_share=0.20,
)
