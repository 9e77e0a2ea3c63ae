"""What the dashboard shows is the true state, seen in Chromium (fixtures of test_browser.py)."""

from __future__ import annotations

from datetime import date, datetime

from core.tenancy import rls_bypass
from guilds.models import BonusRule, GuildNotification
from metrics.bonuses import award_week
from tests.dashboard.test_browser import _context, browser, pytestmark  # noqa: F401 (fixtures, marks)
from tests.factories import make_bonus_rule, make_creator, make_guild, make_post, make_profile, make_snapshot


def _open(browser, live_server, guild, path):  # noqa: F811
    context = _context(browser, live_server, guild)
    page = context.new_page()
    page.goto(f"/dashboard/{guild.pk}/{path}")
    return context, page


def test_a_bonus_is_announced_only_when_discord_took_the_announcement(browser, live_server):  # noqa: F811
    guild = make_guild(timezone="UTC")
    creator = make_creator(guild, username="alice")
    posted = datetime.fromisoformat("2026-11-01T12:00:00+00:00")
    post = make_post(guild, make_profile(guild, creator), posted_at=posted, submitted_at=posted)
    make_snapshot(post, views=100, at=datetime.fromisoformat("2026-11-15T23:00:00+00:00"))
    make_snapshot(post, views=900, at=datetime.fromisoformat("2026-11-22T23:00:00+00:00"))
    with rls_bypass(reason="test"):
        type(post).objects.filter(pk=post.pk).update(
            metrics_updated_at=datetime.fromisoformat("2026-11-22T23:00:00+00:00")
        )
    make_bonus_rule(guild, name="Winner", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=1, amount=50)
    outcome = award_week(
        guild_id=guild.pk, week_start=date(2026, 11, 16), now=datetime.fromisoformat("2026-11-23T09:00:00+00:00")
    )
    assert (outcome.created, outcome.announced) == (1, 1)  # queued, but there is nowhere to send it

    context, page = _open(browser, live_server, guild, "bonus-rules/")
    cell = page.locator("td.announcement")
    assert cell.inner_text() == "waiting: no Discord destination: set an updates channel in Settings"
    with rls_bypass(reason="test"):
        GuildNotification.objects.filter(kind="bonus").update(status=GuildNotification.Status.DROPPED)
    page.reload()
    assert cell.inner_text() == "not sent: no Discord destination"
    with rls_bypass(reason="test"):
        GuildNotification.objects.filter(kind="bonus").update(
            status=GuildNotification.Status.SENT, sent_at=datetime.fromisoformat("2026-11-23T09:01:00+00:00")
        )
    page.reload()
    assert cell.inner_text() == "Announced Nov 23"
    context.close()
