"""Post pictures and the fraud thresholds as a person sees them, in Chromium (fixtures of
test_browser.py): the picture loads under the page's CSP, a post without one shows the neutral box,
nothing overflows a phone screen; the thresholds are saved from the settings page."""

from __future__ import annotations

import base64

from core.tenancy import rls_bypass
from guilds.models import Guild
from tests.dashboard.test_browser import PHONE, _context, _watch, browser, pytestmark  # noqa: F401 (fixtures, marks)
from tests.factories import make_guild, make_post

# A 1x1 PNG served for the vendor's CDN (the tests have no internet).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PICTURE = "https://p16-sign.tiktokcdn.com/tos-alisg-p-0037/cover.jpeg?x-expires=1767225600"


def test_posts_show_their_picture_or_a_neutral_box(browser, live_server):  # noqa: F811
    guild = make_guild()
    pictured = make_post(guild, caption="Unboxing the new Globex headset", thumbnail_url=PICTURE)
    make_post(guild, caption="Not scraped yet")
    for viewport in (None, PHONE):
        context = _context(browser, live_server, guild, **({"viewport": viewport} if viewport else {}))
        context.route(
            "https://p16-sign.tiktokcdn.com/**", lambda route: route.fulfill(body=PNG, content_type="image/png")
        )
        page = context.new_page()
        problems = _watch(page)
        page.goto(f"/dashboard/{guild.pk}/posts/")
        img = page.get_by_role("img", name="Thumbnail of Unboxing the new Globex headset")
        img.scroll_into_view_if_needed()
        page.wait_for_function("document.querySelector('img.thumb').complete")
        assert img.evaluate("el => el.naturalWidth") == 1  # loaded: the CSP lets https images in
        box = page.get_by_role("img", name="No thumbnail yet").bounding_box()
        assert (round(box["width"]), round(box["height"])) == (40, 40)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.goto(f"/dashboard/{guild.pk}/posts/{pictured.pk}/")
        big = page.get_by_role("img", name="Thumbnail of Unboxing the new Globex headset").bounding_box()
        assert round(big["width"]) == 160
        assert problems == []
        context.close()


def test_the_fraud_thresholds_are_saved_from_the_settings_page(browser, live_server):  # noqa: F811
    guild = make_guild()
    context = _context(browser, live_server, guild)
    page = context.new_page()
    page.goto(f"/dashboard/{guild.pk}/settings/")
    page.get_by_label("Spike: views gained from").fill("-3")
    page.get_by_role("button", name="Save settings").click()
    assert (
        "Must be a whole number from 1 to 1,000,000,000." in page.locator("[data-testid=fraud-thresholds]").inner_text()
    )
    page.get_by_label("Spike: views gained from").fill("2500")
    page.get_by_label("Spike: flagged under this % engagement").fill("0.5")
    page.get_by_role("button", name="Save settings").click()
    assert "Settings saved." in page.content()
    assert page.get_by_label("Spike: views gained from").input_value() == "2500"
    with rls_bypass(reason="test"):
        stored = Guild.objects.get(pk=guild.pk)
    assert (stored.fraud_spike_min_views, str(stored.fraud_spike_max_engagement_pct)) == (2500, "0.50")
    context.close()
