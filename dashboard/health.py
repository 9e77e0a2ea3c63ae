"""The health banner and the review count on every guild page: what is switched off and what to
set, and Discord messages that wait for a destination. Nothing here claims success; each line
names the setting that fixes it.

Used as a template context processor: ``health_notes`` is a callable the template evaluates only on
the pages that show it (guild pages), so other pages pay nothing.
"""

from __future__ import annotations

from django.conf import settings

from integrations.discord.notifier import waiting_notifications
from tracking.review import needs_decision_count

# (setting, what stops without it) - the features a guild admin notices on their own pages.
GUILD_FEATURES = (
    ("APIFY_API_TOKEN", "TikTok, Instagram, X and Facebook numbers are not refreshed"),
    ("YOUTUBE_API_KEY", "YouTube numbers are not refreshed"),
    ("OPENAI_API_KEY", "captions are checked by the tag and word rules only, not by the AI check"),
    ("DISCORD_BOT_TOKEN", "messages to a channel id (not a webhook) cannot be sent"),
)


def notes_for(guild) -> list[str]:
    """The banner's lines for ``guild``: one query (waiting notifications) plus settings."""
    lines = [
        f"{what}: the server operator must set {key}." for key, what in GUILD_FEATURES if not getattr(settings, key, "")
    ]
    for channel, count, why in waiting_notifications(guild):
        plural = "message waits" if count == 1 else "messages wait"
        lines.append(f"{count} Discord {channel} {plural} and will be sent once this is fixed: {why} (Settings).")
    return lines


def health_banner(request) -> dict:
    """``health_notes`` and ``review_count`` (the review queue's one count) for guild pages, computed
    only where a template shows them."""
    guild = getattr(request, "guild", None)
    if guild is None:
        return {"health_notes": list, "review_count": int}
    return {
        "health_notes": _once(lambda: notes_for(guild)),
        "review_count": _once(lambda: needs_decision_count(guild.pk)),
    }


def _once(compute):
    """A callable that computes on its first call and answers the same after (a page may show the
    review count twice: the menu and the overview tile)."""
    box: list = []

    def value():
        if not box:
            box.append(compute())
        return box[0]

    return value
