"""What the dashboard shows is the true state, seen in Chromium (fixtures of test_browser.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from core.tenancy import rls_bypass
from guilds.models import BonusRule, DashboardAuditLog, GuildNotification
from metrics.bonuses import award_week
from tests.dashboard.test_browser import _context, browser, pytestmark  # noqa: F401 (fixtures, marks)
from tests.factories import (
    make_bonus_rule,
    make_client_account,
    make_creator,
    make_guild,
    make_post,
    make_profile,
    make_snapshot,
)
from tracking.models import Post


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


def _recognisable_guild():
    """Two Facebook posts of the same client, one with a caption, one without; a flagged TikTok post."""
    guild = make_guild(timezone="Europe/Paris")
    client = make_client_account(guild, name="Globex Games")
    maya = make_profile(guild, make_creator(guild, username="maya"), platform="facebook", handle="maya.clips")
    now = timezone.now()
    captioned = make_post(
        guild,
        maya,
        client_account=client,
        caption="Speedrunning the new Globex level in under four minutes #globex #ad",
        author_handle="maya.clips",
        views=742_603,
        likes=10,
        submitted_at=now - timedelta(days=2),
    )
    bare = make_post(
        guild, maya, client_account=client, author_handle="maya.clips", views=5_000, likes=900, submitted_at=now
    )
    flagged = make_post(guild, status=Post.Status.FLAGGED, views=1, likes=1, submitted_at=now - timedelta(days=1))
    # the newest snapshot holds the post's own numbers, as ingestion keeps them
    for post, start, end in ((captioned, 1_000, 742_603), (bare, 100, 5_000)):
        make_snapshot(post, views=start, at=now - timedelta(days=40))
        make_snapshot(post, views=end, at=now - timedelta(minutes=5))
    with rls_bypass(reason="test"):
        Post.objects.filter(pk__in=[captioned.pk, bare.pk]).update(
            posted_at=now - timedelta(days=41), metrics_updated_at=now - timedelta(minutes=5)
        )
    return guild, captioned, bare, flagged


def test_posts_are_recognisable_sortable_and_reviewable_in_bulk(browser, live_server):  # noqa: F811
    guild, captioned, bare, flagged = _recognisable_guild()
    context, page = _open(browser, live_server, guild, "posts/")
    titles = page.locator("[data-testid=posts-table] .post-title").all_inner_texts()
    # newest first; the caption's first words, else the handle and platform — never a truncated id
    assert titles == ["@maya.clips on Facebook", "TikTok post", "Speedrunning the new Globex level in under four…"]

    page.locator("a.sort-link[data-sort=views]").click()  # most viewed first
    assert page.locator(".post-title").first.inner_text().startswith("Speedrunning")
    assert "742,603" in page.locator("[data-testid=posts-table] tbody tr").first.inner_text()
    page.locator("a.sort-link[data-sort=views]").click()  # again: fewest first
    assert page.locator("tbody tr").first.locator(".post-sub").inner_text().startswith(f"#{flagged.pk}")
    assert "sort=views" in page.url

    page.goto(f"/dashboard/{guild.pk}/posts/?sort=likes;drop")  # not a column: ignored, newest first
    assert page.locator(".post-title").first.inner_text() == "@maya.clips on Facebook"

    # only the flagged post can be chosen; approving it goes through the review service
    assert page.locator("input[name=post]").count() == 1
    page.locator(f"#post-{flagged.pk}").check()
    page.get_by_role("button", name="Approve chosen").click()
    assert "1 post approved." in page.content()
    assert page.locator("input[name=post]").count() == 0
    with rls_bypass(reason="test"):
        assert Post.objects.get(pk=flagged.pk).status == Post.Status.TRACKING
    context.close()


def test_top_posts_are_told_apart_and_show_views_gained(browser, live_server):  # noqa: F811
    guild, captioned, bare, _ = _recognisable_guild()
    context, page = _open(browser, live_server, guild, "leaderboard/?period=month")
    rows = page.locator("tbody tr:has(.post-title)")
    texts = rows.all_inner_texts()
    assert len(texts) == 2 and texts[0] != texts[1]
    assert "Speedrunning the new Globex level" in texts[0] and "741,603" in texts[0]
    assert "@maya.clips on Facebook" in texts[1] and f"Globex Games · #{bare.pk}" in texts[1] and "4,900" in texts[1]
    context.close()


def test_handle_search_small_words_and_a_bad_period_on_screen(browser, live_server):  # noqa: F811
    guild, captioned, bare, _ = _recognisable_guild()
    with rls_bypass(reason="test"):
        Post.objects.filter(pk=bare.pk).update(metrics_updated_at=timezone.now())
    context, page = _open(browser, live_server, guild, "posts/?q=%40maya.clips")
    assert page.locator(".post-title").count() == 2  # what "maya.clips" finds
    assert "just now" in page.locator(f"tr:has(#post-{bare.pk}), tr:has-text('#{bare.pk}')").first.inner_text()
    assert "0 minutes ago" not in page.content()
    page.goto(f"/dashboard/{guild.pk}/leaderboard/?period=bogus")
    assert "Unknown period 'bogus': use one of day, yesterday, week, last_week, month." in page.inner_text("main")
    context.close()


def test_the_audit_log_reads_like_words_and_the_ip_stays_in_its_column(browser, live_server):  # noqa: F811
    guild = make_guild()
    with rls_bypass(reason="test"):
        DashboardAuditLog.objects.create(
            guild=guild,
            actor="discord:1160000000000000001 alice",
            action="client_account.update",
            target_type="client_account",
            target_id="7",
            before={"social_accounts": {"tiktok": "globex"}, "notes": None, "active": True},
            after={"social_accounts": {"tiktok": "globex", "instagram": "globex.games"}, "notes": "", "active": False},
            ip="2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        )
    context, page = _open(browser, live_server, guild, "audit/")
    change = page.locator(".change-cell").first.inner_text()
    assert "tiktok: globex → tiktok: globex, instagram: globex.games" in change
    assert "none → empty" in change and "yes → no" in change
    assert "None" not in change and "{" not in change and "True" not in change
    table = page.locator("[data-testid=audit-table]").bounding_box()
    ip = page.locator("td.ip-cell").first.bounding_box()
    assert ip["x"] + ip["width"] <= table["x"] + table["width"] + 1  # inside the table
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing overflows the page
    context.close()


def test_the_time_zone_list_is_grouped_by_region_without_deprecated_aliases(browser, live_server):  # noqa: F811
    guild = make_guild(timezone="Europe/Paris")
    context, page = _open(browser, live_server, guild, "settings/")
    select = page.locator("select[name=timezone]")
    groups = select.locator("optgroup").evaluate_all("els => els.map(e => e.label)")
    assert groups == ["Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"]
    values = select.locator("option").evaluate_all("els => els.map(e => e.value)")
    assert "Europe/Paris" in values and "America/New_York" in values and values[0] == "UTC"
    for alias in ("US/Eastern", "Asia/Calcutta", "Europe/Kiev", "GB", "Etc/GMT+5", "America/Buenos_Aires"):
        assert alias not in values
    assert len(values) < 400
    assert select.input_value() == "Europe/Paris"
    assert page.locator("optgroup[label=America] option[value='America/New_York']").inner_text() == "New York"
    context.close()


def test_the_overview_chart_marks_its_last_bar_as_today_so_far(browser, live_server):  # noqa: F811
    guild, *_ = _recognisable_guild()
    context, page = _open(browser, live_server, guild, "")
    assert "The last bar is today so far (partial)" in page.get_by_test_id("partial-note").inner_text()
    over = page.locator(".chart .u-over")
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)  # the last day's slot
    readout = page.locator('[data-readout-for="daily-gains-data"]')
    assert readout.inner_text().endswith("views gained so far today (the day is not over)")
    page.mouse.move(box["x"] + 3, box["y"] + box["height"] / 2)  # the first day: a whole day
    assert readout.inner_text().endswith(" views gained")
    context.close()


def test_the_post_chart_gives_views_and_likes_each_their_own_axis(browser, live_server):  # noqa: F811
    guild, captioned, *_ = _recognisable_guild()
    context = _context(browser, live_server, guild)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"/dashboard/{guild.pk}/posts/{captioned.pk}/")
    charts = page.locator("[data-chart=series][data-rendered=true]")
    assert charts.count() == 2
    boxes = [charts.nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"]  # one under the other, not on top
    for i, name in enumerate(("Views", "Likes")):
        assert name in charts.nth(i).locator(".u-legend").inner_text()
        assert charts.nth(i).locator(".u-axis").count() == 2  # time and one value axis, never two
    assert errors == []  # no script error
    context.close()
