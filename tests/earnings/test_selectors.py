"""earnings.selectors.earnings against a hand-computed campaign (every figure below is worked out by
hand in the comments, not read back from the code).

Campaign: USD, 2.00 per 1,000 views (YouTube 2.50), post cap 30.00, creator cap 40.00, minimum 1,000
views, 7-day counting window, views gained since submission, budget 100.00.

    post  creator  submitted  views (first → in window)   raw amount            after caps / budget
    P1    alice    T0         500 → 10,500 (50,500 day 8)  10,000 × 2/1000 = 20.00   20.00
    P2    alice    T0+1h      0 → 20,000                   40.00 → post cap 30.00     creator cap: 20.00
    P3    bob      T0+2h      0 → 900                      below 1,000 → 0.00
    P4    bob      T0+3h      0 → 12,345 (flagged)         24.69, held                reserves 24.69
    P5    bob      T0+4h      0 → 5,000 (rejected)         0.00
    P6    carol    T0+5h      0 → 25,000                   50.00 → cap 30.00          30.00
    P7    carol    T0+6h      0 → 3,002 (YouTube)          7.505 → 7.51 (half-up)     budget left 5.31
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.tenancy import guild_scope, rls_bypass
from earnings.selectors import earnings, earnings_document
from tests.factories import make_campaign, make_creator, make_post, make_profile, make_snapshot
from tracking.models import Post
from tracking.platforms import Platform

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, tzinfo=UTC)
ALL = (T0 - timedelta(days=1), T0 + timedelta(days=30))


def _post(guild, campaign, creator, hours, series, platform=Platform.TIKTOK, **kw):
    profile = make_profile(guild, creator=creator, platform=platform)
    post = make_post(
        guild,
        profile=profile,
        client_account=campaign.client_account,
        campaign=campaign,
        submitted_at=T0 + timedelta(hours=hours),
        counting_ends_at=T0 + timedelta(hours=hours, days=7),
        **kw,
    )
    for at, views in series:
        make_snapshot(post, views=views, at=at)
    return post


@pytest.fixture
def brief(guild):
    campaign = make_campaign(
        guild,
        rate_per_1000=Decimal("2.00"),
        platform_rates={"youtube": "2.50"},
        post_cap=Decimal("30.00"),
        creator_cap=Decimal("40.00"),
        min_views=1000,
        counting_window_days=7,
        total_budget=Decimal("100.00"),
    )
    alice, bob, carol = (make_creator(guild, username=n) for n in ("alice", "bob", "carol"))
    d = lambda days, hours=0: T0 + timedelta(days=days, hours=hours)  # noqa: E731
    posts = {
        "P1": _post(guild, campaign, alice, 0, [(d(0), 500), (d(3), 10_500), (d(8), 50_500)]),
        "P2": _post(guild, campaign, alice, 1, [(d(0, 1), 0), (d(5), 20_000)]),
        "P3": _post(guild, campaign, bob, 2, [(d(0, 2), 0), (d(2), 900)]),
        "P4": _post(
            guild,
            campaign,
            bob,
            3,
            [(d(0, 3), 0), (d(2), 12_345)],
            status=Post.Status.FLAGGED,
            status_reason="Views spiked without engagement",
        ),
        "P5": _post(guild, campaign, bob, 4, [(d(0, 4), 0), (d(2), 5_000)], status=Post.Status.REJECTED),
        "P6": _post(guild, campaign, carol, 5, [(d(0, 5), 0), (d(4), 25_000)]),
        "P7": _post(guild, campaign, carol, 6, [(d(0, 6), 0), (d(4), 3_002)], platform=Platform.YOUTUBE),
    }
    return campaign, posts


def _doc(guild, start=ALL[0], end=ALL[1], **kw):
    with guild_scope(guild.pk):
        return earnings_document(earnings(guild_id=guild.pk, start=start, end=end, **kw))


def _by_name(doc):
    return {c["username"]: c for c in doc["creators"]}


def _posts(creator):
    return {p["post_id"]: p for p in creator["posts"]}


def test_hand_computed_campaign(guild, brief):
    campaign, p = brief
    doc = _doc(guild)
    people = _by_name(doc)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]

    # alice: 20.00 + 30.00 = 50.00 before her 40.00 creator cap
    assert _posts(alice)[p["P1"].pk]["views_payable"] == 10_000  # the day-8 snapshot is past the window
    assert _posts(alice)[p["P1"].pk]["amount"] == "20.00"
    assert _posts(alice)[p["P2"].pk]["amount"] == "30.00"
    assert _posts(alice)[p["P2"].pk]["post_cap"] == "30.00"
    assert alice["amount"] == {"USD": "40.00"} and alice["capped"] is True
    assert alice["held_amount"] == {"USD": "0.00"}

    # bob: P3 under the minimum, P4 held, P5 rejected (not listed)
    bob_posts = _posts(bob)
    assert bob_posts[p["P3"].pk]["amount"] == "0.00" and bob_posts[p["P3"].pk]["min_views"] == 1000
    assert bob_posts[p["P4"].pk]["held"] is True and bob_posts[p["P4"].pk]["amount"] == "24.69"
    assert bob_posts[p["P4"].pk]["hold_reason"] == "Views spiked without engagement"
    assert p["P5"].pk not in bob_posts
    assert bob["amount"] == {"USD": "0.00"} and bob["held_amount"] == {"USD": "24.69"}

    # carol: P6 capped at 30.00; P7 7.51 but only 100 - 40 - 24.69 - 30 = 5.31 of budget is left
    assert _posts(carol)[p["P7"].pk]["rate_per_1000"] == "2.50"
    assert _posts(carol)[p["P7"].pk]["amount"] == "5.31"
    assert carol["amount"] == {"USD": "35.31"} and carol["capped"] is False

    assert doc["total"] == {"USD": "75.31"}
    assert doc["held_total"] == {"USD": "24.69"}
    assert [c["username"] for c in doc["creators"]] == ["alice", "carol", "bob"]


def test_rounding_is_half_up_per_post(guild, brief):
    _, p = brief
    with rls_bypass(reason="test"):
        Post.objects.filter(pk=p["P4"].pk).update(status=Post.Status.REJECTED)  # frees the budget for P7
    carol = _by_name(_doc(guild))["carol"]
    assert _posts(carol)[p["P7"].pk]["amount"] == "7.51"  # 3,002 × 2.50 / 1000 = 7.505 → 7.51, not 7.50


def test_released_held_post_becomes_payable_and_rejected_one_frees_budget(guild, brief):
    _, p = brief
    with rls_bypass(reason="test"):
        Post.objects.filter(pk=p["P4"].pk).update(status=Post.Status.TRACKING, status_reason="")
    doc = _doc(guild)
    assert _by_name(doc)["bob"]["amount"] == {"USD": "24.69"}
    assert _by_name(doc)["bob"]["held_amount"] == {"USD": "0.00"}
    assert doc["total"] == {"USD": "100.00"} and doc["held_total"] == {"USD": "0.00"}

    with rls_bypass(reason="test"):
        Post.objects.filter(pk=p["P4"].pk).update(status=Post.Status.REJECTED)
    doc = _doc(guild)
    assert "bob" in _by_name(doc)  # P3 still shows its 900 views at 0.00
    assert _by_name(doc)["carol"]["amount"] == {"USD": "37.51"}  # 30.00 + 7.51, budget no longer short
    assert doc["total"] == {"USD": "77.51"}


def test_periods_add_up_to_the_whole(guild, brief):
    split = T0 + timedelta(days=4)
    whole, first, second = _doc(guild), _doc(guild, end=split), _doc(guild, start=split)
    assert Decimal(first["total"]["USD"]) + Decimal(second["total"]["USD"]) == Decimal(whole["total"]["USD"])
    # alice in the second part: P2 earns 30.00 of which her cap leaves 40.00 - 20.00 = 20.00
    alice = _by_name(second)["alice"]
    assert alice["amount"] == {"USD": "20.00"}
    assert [x["amount"] for x in alice["posts"]] == ["30.00"]


def test_baseline_all_views_counts_the_first_snapshot(guild, brief):
    campaign, p = brief
    with rls_bypass(reason="test"):
        type(campaign).objects.filter(pk=campaign.pk).update(baseline="all", creator_cap=None, total_budget=None)
    alice = _by_name(_doc(guild))["alice"]
    assert _posts(alice)[p["P1"].pk]["views_payable"] == 10_500
    assert _posts(alice)[p["P1"].pk]["amount"] == "21.00"


def test_forfeit_campaign_zeroes_a_post_gone_inside_its_window(guild, brief):
    campaign, p = brief
    with rls_bypass(reason="test"):
        Post.objects.filter(pk=p["P6"].pk).update(
            status=Post.Status.UNAVAILABLE, metrics_updated_at=T0 + timedelta(days=4)
        )
    assert _posts(_by_name(_doc(guild))["carol"])[p["P6"].pk]["amount"] == "30.00"  # keep is the default
    with rls_bypass(reason="test"):
        type(campaign).objects.filter(pk=campaign.pk).update(on_disappear="forfeit")
    assert p["P6"].pk not in _posts(_by_name(_doc(guild))["carol"])


def test_other_guilds_campaigns_are_not_counted(guild, other_guild, brief):
    other = make_campaign(other_guild)
    _post(other_guild, other, make_creator(other_guild), 0, [(T0, 0), (T0 + timedelta(days=1), 99_000)])
    assert {c["username"] for c in _doc(guild)["creators"]} == {"alice", "bob", "carol"}
    assert _doc(guild, campaign_id=other.pk)["creators"] == []


def test_constant_number_of_queries(guild, brief):
    with guild_scope(guild.pk), CaptureQueriesContext(connection) as small:
        earnings(guild_id=guild.pk, start=ALL[0], end=ALL[1])
    campaign, _ = brief
    for i in range(5):
        _post(guild, campaign, make_creator(guild), 10 + i, [(T0, 0), (T0 + timedelta(days=1), 5_000)])
    with guild_scope(guild.pk), CaptureQueriesContext(connection) as large:
        earnings(guild_id=guild.pk, start=ALL[0], end=ALL[1])
    assert len(large) == len(small) <= 3
