"""The dashboard in a real browser: Playwright driving Debian's Chromium against pytest-django's
live server, on the demo data. Login with Discord is faked exactly as in conftest.py (session and
guild list created through dashboard_auth), then the cookies are given to the browser.

Skipped when Chromium is not installed (``apt-get install chromium``). Screenshots of every page,
at desktop and phone width, go to DASHBOARD_SCREENSHOTS (a folder) when that variable is set.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from core.tenancy import rls_bypass
from guilds.models import BonusRule, DashboardAuditLog, Guild, GuildBudgetConfig
from metrics.periods import period_bounds
from metrics.selectors import leaderboard
from tests.dashboard.conftest import log_in
from tracking.models import FraudSignal, Post

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
    # plain synchronous code, so Django's async-safety guard must not refuse them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def demo(db):
    from tracking.demo import DEMO_GUILD_ID, load_demo_data

    load_demo_data()
    with rls_bypass(reason="test setup"):
        guild = Guild.objects.get(pk=DEMO_GUILD_ID)
        post = Post.objects.filter(guild=guild).order_by("pk").first()
        Post.objects.filter(pk=post.pk).update(status=Post.Status.FLAGGED, status_reason="spike")
        FraudSignal.objects.create(
            guild=guild, post=post, kind=FraudSignal.Kind.SPIKE_WITHOUT_ENGAGEMENT, reason="Views x40 in one hour"
        )
    return guild, post


def _context(browser, live_server, guild, *, role="admin", viewport=DESKTOP):
    who = log_in(guilds=[(guild, role)])
    context = browser.new_context(viewport=viewport, accept_downloads=True, base_url=live_server.url)
    context.add_cookies(
        [
            {"name": name, "value": value, "url": live_server.url, "httpOnly": True, "sameSite": "Strict"}
            for name, value in who.cookies.items()
        ]
    )
    return context


def _watch(page) -> list[str]:
    """Console errors and CSP violations: a clean page has none."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def _shoot(page, name: str) -> None:
    folder = os.environ.get("DASHBOARD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


PAGES = {
    "overview": "",
    "posts": "posts/",
    "creators": "creators/",
    "leaderboard": "leaderboard/",
    "clients": "clients/",
    "bonus-rules": "bonus-rules/",
    "budget": "budget/",
    "settings": "settings/",
    "audit": "audit/",
    "money": "money/",
    "money-creators": "money/creators/",
    "campaign-new": "money/campaigns/new/",
}


def test_anonymous_visitor_lands_on_login(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/dashboard/")
    assert page.url == live_server.url + "/"
    link = page.get_by_role("link", name="Login with Discord")
    assert "/discord/login" in link.get_attribute("href")
    _shoot(page, "landing-desktop")
    page.set_viewport_size(PHONE)
    _shoot(page, "landing-phone")
    context.close()


@pytest.mark.parametrize("viewport_name", ["desktop", "phone"])
def test_every_page_opens_cleanly(browser, live_server, demo, viewport_name):
    guild, post = demo
    viewport = DESKTOP if viewport_name == "desktop" else PHONE
    context = _context(browser, live_server, guild, viewport=viewport)
    page = context.new_page()
    problems = _watch(page)
    page.goto("/dashboard/")
    page.get_by_role("link", name=guild.name).click()
    assert page.url.endswith(f"/dashboard/{guild.pk}/")
    _shoot(page, f"picker-then-overview-{viewport_name}")
    for name, path in PAGES.items():
        page.goto(f"/dashboard/{guild.pk}/{path}")
        assert page.locator("h1").first.is_visible(), name
        # Nothing may overflow the viewport sideways: wide tables scroll inside their own box.
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} overflows by {overflow}px at {viewport_name} width"
        _shoot(page, f"{name}-{viewport_name}")
    page.goto(f"/dashboard/{guild.pk}/posts/{post.pk}/")
    page.wait_for_selector(".chart[data-rendered] canvas")
    _shoot(page, f"post-{viewport_name}")
    page.goto(f"/dashboard/{guild.pk}/")
    page.wait_for_selector(".chart[data-rendered] canvas")
    _shoot(page, f"overview-{viewport_name}")
    assert problems == []
    context.close()


def test_phone_menu_collapses_and_opens(browser, live_server, demo):
    guild, _ = demo
    context = _context(browser, live_server, guild, viewport=PHONE)
    page = context.new_page()
    page.goto(f"/dashboard/{guild.pk}/")
    nav_link = page.locator("#guild-nav").get_by_role("link", name="Leaderboard")
    assert not nav_link.is_visible()
    page.get_by_role("button", name="Menu").click()
    assert nav_link.is_visible()
    _shoot(page, "menu-open-phone")
    nav_link.click()
    assert page.url.endswith(f"/dashboard/{guild.pk}/leaderboard/")
    context.close()


def test_admin_changes_a_budget(browser, live_server, demo):
    guild, _ = demo
    context = _context(browser, live_server, guild)
    page = context.new_page()
    page.goto(f"/dashboard/{guild.pk}/budget/")
    page.get_by_label("Apify runs per day").fill("140")
    page.get_by_role("button", name="Save budget").click()
    assert page.get_by_text("Budget saved.").is_visible()
    assert page.get_by_label("Apify runs per day").input_value() == "140"
    with rls_bypass(reason="test assertion"):
        assert GuildBudgetConfig.objects.get(guild=guild).daily_apify_run_limit == 140
        entry = DashboardAuditLog.objects.get(guild=guild, action="budget.update")
    assert entry.after == {"daily_apify_run_limit": 140}
    page.goto(f"/dashboard/{guild.pk}/audit/")
    assert page.get_by_text("budget.update").is_visible()
    context.close()


def test_manager_cannot_change_a_budget(browser, live_server, demo):
    guild, _ = demo
    context = _context(browser, live_server, guild, role="manager")
    page = context.new_page()
    page.goto(f"/dashboard/{guild.pk}/budget/")
    assert page.get_by_label("Apify runs per day").is_disabled()
    assert page.get_by_role("button", name="Save budget").count() == 0
    context.close()


def test_admin_creates_a_bonus_rule(browser, live_server, demo):
    guild, _ = demo
    context = _context(browser, live_server, guild)
    page = context.new_page()
    problems = _watch(page)
    page.goto(f"/dashboard/{guild.pk}/bonus-rules/")
    page.get_by_role("link", name="New bonus rule").click()
    page.get_by_label("Name").fill("Podium gold")
    page.get_by_label("Earned by").select_option("top_n")
    page.get_by_label("Place on the week's leaderboard").fill("0")
    page.get_by_label("Amount").fill("75")
    page.get_by_role("button", name="Create rule").click()
    assert page.get_by_text("Must be a whole number from 1 to 100.").is_visible()
    page.get_by_label("Place on the week's leaderboard").fill("1")
    page.get_by_role("button", name="Create rule").click()
    assert page.get_by_text("Bonus rule Podium gold created.").is_visible()
    assert page.locator("[data-testid=rules-table]").get_by_text("Podium gold").is_visible()
    with rls_bypass(reason="test assertion"):
        rule = BonusRule.objects.get(guild=guild, name="Podium gold")
        entry = DashboardAuditLog.objects.get(guild=guild, action="bonus_rule.create")
    assert (rule.kind, rule.place, str(rule.amount), rule.active) == ("top_n", 1, "75.00", True)
    assert entry.after["name"] == "Podium gold"
    assert [p for p in problems if "400" not in p] == []  # the refused first try is a 400, by design
    context.close()


def test_admin_approves_a_flagged_post(browser, live_server, demo):
    guild, post = demo
    context = _context(browser, live_server, guild)
    page = context.new_page()
    page.goto(f"/dashboard/{guild.pk}/posts/?status=flagged")
    page.locator("[data-testid=posts-table] tbody a").first.click()
    assert page.get_by_text("Views x40 in one hour").is_visible()
    page.get_by_label("Reason").fill("Checked the analytics screenshot")
    page.get_by_role("button", name="Approve").click()
    assert page.get_by_text("Post approved.").is_visible()
    assert page.locator("[data-testid=post-status]").inner_text() == "Tracking"
    assert page.get_by_text("Checked the analytics screenshot").first.is_visible()
    with rls_bypass(reason="test assertion"):
        assert Post.objects.get(pk=post.pk).status == Post.Status.TRACKING
        assert FraudSignal.objects.get(post=post).resolved_at is not None
    context.close()


def test_leaderboard_csv_download(browser, live_server, demo):
    guild, _ = demo
    context = _context(browser, live_server, guild)
    page = context.new_page()
    page.goto(f"/dashboard/{guild.pk}/leaderboard/")
    page.get_by_role("link", name="This month").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.startswith(f"leaderboard-{guild.pk}-month-")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    start, end = period_bounds(period="month", now=timezone.now(), tz=guild.tz)
    with rls_bypass(reason="test assertion"):
        board = leaderboard(guild=guild, start=start, end=end)
    assert [(r["creator"], int(r["views_gained"])) for r in rows] == [
        (c.creator_name, c.views_gained) for c in board.creators
    ]
    assert rows, "the demo data has gains this month"
    context.close()


def test_logout(browser, live_server, demo):
    guild, _ = demo
    context = _context(browser, live_server, guild)
    page = context.new_page()
    page.goto(f"/dashboard/{guild.pk}/")
    page.get_by_role("button", name="Log out").click()
    assert page.url == live_server.url + "/"
    page.goto(f"/dashboard/{guild.pk}/")
    assert page.url == live_server.url + "/"
    assert not [c for c in context.cookies() if c["name"] == settings.DASHBOARD_ACCESS_COOKIE_NAME]
    context.close()


@pytest.mark.parametrize("viewport_name", ["desktop", "phone"])
def test_campaign_page_chart_and_a_brand_link_the_brand_opens(browser, live_server, demo, viewport_name):
    guild, _ = demo
    viewport = DESKTOP if viewport_name == "desktop" else PHONE
    context = _context(browser, live_server, guild, viewport=viewport)
    page = context.new_page()
    problems = _watch(page)
    page.goto(f"/dashboard/{guild.pk}/money/")
    page.get_by_role("link", name="Acme Energy — Winter push").click()
    page.wait_for_selector(".chart[data-chart=money][data-rendered] canvas")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the campaign page overflows by {overflow}px at {viewport_name} width"
    _shoot(page, f"campaign-{viewport_name}")
    page.get_by_role("button", name="Create a report link").click()
    url = page.locator("#issued-url").input_value()
    assert "/brand-report/" in url
    brand = browser.new_context(viewport=viewport).new_page()  # the brand: no cookies, no login
    brand_problems = _watch(brand)
    response = brand.goto(url.replace(settings.PUBLIC_BASE_URL, live_server.url))
    assert response.status == 200 and response.headers["x-robots-tag"] == "noindex, nofollow"
    assert brand.get_by_role("heading", name="Acme Energy — Winter push").is_visible()
    overflow = brand.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the brand report overflows by {overflow}px at {viewport_name} width"
    _shoot(brand, f"brand-report-{viewport_name}")
    assert problems == [] and brand_problems == []
    brand.context.close()
    context.close()


@pytest.mark.parametrize("viewport_name", ["desktop", "phone"])
def test_admin_approves_selected_statements_on_the_money_page(browser, live_server, demo, viewport_name):
    from earnings.models import Statement

    guild, _ = demo
    with rls_bypass(reason="test setup"):
        pending = set(Statement.objects.filter(guild=guild, status="pending").values_list("pk", flat=True))
    assert len(pending) >= 2, "the demo has pending statements to approve"
    viewport = DESKTOP if viewport_name == "desktop" else PHONE
    context = _context(browser, live_server, guild, viewport=viewport)
    page = context.new_page()
    problems = _watch(page)
    page.goto(f"/dashboard/{guild.pk}/money/")
    boxes = page.locator("[data-testid=payout-queue] input[type=checkbox][name=statement]")
    assert boxes.count() == len(pending)
    for i in range(boxes.count()):
        boxes.nth(i).check()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the Money page overflows by {overflow}px at {viewport_name} width"
    _shoot(page, f"money-bulk-{viewport_name}")
    page.get_by_role("button", name="Approve selected").click()
    assert page.get_by_text(f"{len(pending)} statements approved.").is_visible()
    assert page.locator("[data-testid=payout-queue] input[type=checkbox][name=statement]").count() == 0
    with rls_bypass(reason="test assertion"):
        statuses = set(Statement.objects.filter(pk__in=pending).values_list("status", flat=True))
    assert statuses == {"approved"}
    page.get_by_role("link", name="Earnings per creator").click()
    assert page.locator("[data-testid=creator-money] tbody tr").count() > 0
    assert problems == []
    context.close()
