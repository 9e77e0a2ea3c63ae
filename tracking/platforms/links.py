"""What a platform's link readers are given and what they may answer.

``tracking.post_urls`` does everything about a pasted link that is not platform-specific (trimming,
scheme, credentials, port, look-alike hosts), picks the platform by host and hands its reader a
``Link``. The reader answers with a ``PostRef`` (or a profile handle), or raises one of the reasons
below; ``tracking.post_urls`` turns a reason into the message a person reads, with the platform's
name, post noun and example link, so every platform's refusals read alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    """A link that passed the generic checks: its known host (lower-case), path segments (unquoted
    after splitting, so an encoded "/" cannot invent a segment) and query parameters."""

    host: str
    segments: tuple[str, ...]
    query: dict[str, list[str]]

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``, or None."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class PostRef:
    """The post a link points to. ``external_id`` is None for short links; ``handle`` is the account
    the link names (lower-cased), None when it names none. ``needs_resolution``: the first scrape
    settles the post id (short links; ids the scrapers do not report back)."""

    external_id: str | None
    canonical_url: str
    needs_resolution: bool
    handle: str | None = None


def short_link(host: str, path: str) -> PostRef:
    """A share link whose post id only the first scrape can tell; kept clean for the scraper."""
    return PostRef(external_id=None, canonical_url=f"https://{host}/{path}/", needs_resolution=True)


class NotAPost(Exception):
    """The link is on the platform but points to no post.

    ``subject`` starts the message when the generic "That <Platform> link" would not say what is wrong
    ("That TikTok share link is incomplete and")."""

    def __init__(self, subject: str = "") -> None:
        super().__init__(subject)
        self.subject = subject


class ProfilePage(Exception):
    """The link is a profile page on the platform, where a post link was expected."""


class NotAProfile(Exception):
    """The link is on the platform but is not a profile page; ``message``, when given, replaces the
    generic refusal (for platforms whose profile links need explaining)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message
