"""Number formatting and small helpers for the dashboard templates."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timesince

from core.values import post_title as _post_title
from tracking.platforms import registry

register = template.Library()


@register.filter
def num(value) -> str:
    """12345 → "12,345"; None → "—"."""
    if value is None or value == "":
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def compact(value) -> str:
    """1234 → "1.2K", 3400000 → "3.4M" (for tiles and charts)."""
    if value is None:
        return "—"
    n = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= limit:
            text = f"{n / limit:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{int(n):,}"


@register.filter
def ago(value: datetime | None) -> str:
    """ "just now" under a minute, else "5 minutes ago" (Django's timesince)."""
    if value is None:
        return "never"
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"


@register.filter
def platform_label(value: str) -> str:
    """ "tiktok" → "TikTok" (the platform's label in the registry)."""
    # A page must still render a row whose platform is no longer registered: show the stored key.
    return registry.get(value).label if registry.is_registered(value) else str(value)


@register.filter
def platform_badge(value: str) -> str:
    """ "tiktok" → "platform-tiktok": the CSS class that colours the platform's badge."""
    return registry.get(value).badge_class if registry.is_registered(value) else ""


@register.filter
def signed_pct(value) -> str:
    if value is None:  # nothing to compare with
        return "–"
    return f"{'+' if value > 0 else ''}{value:g}%"


@register.simple_tag
def page_url(query: str, number: int) -> str:
    """``?<filters>&page=N`` for the paginator links (filters kept)."""
    extra = urlencode({"page": number})
    return f"?{query}&{extra}" if query else f"?{extra}"


@register.filter
def post_title(post) -> str:
    """A Post's caption's first words, else "@handle on Platform"."""
    return _post_title(
        caption=post.caption, author_handle=post.author_handle, platform_label=platform_label(post.platform)
    )


@register.filter
def readable(value) -> str:
    """An audit value as people read it: None → "none", True → "yes", {"tiktok": "brand"} →
    "tiktok: brand", ["#a", "#b"] → "#a, #b", "" → "empty" (never Python's repr)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {readable(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) for v in value) or "none"
    return str(value) if value != "" else "empty"
