"""Fraud thresholds are each guild's settings: the same numbers flag a post in a stricter guild and not
in one on the defaults, and the review queue shows the numbers against the thresholds that applied."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from guilds.models import Guild
from integrations.apify.normalize import normalize_item
from metrics.fraud import DEFAULT_THRESHOLDS, Point, Thresholds, detect_signals
from metrics.ingestion import ingest_items
from tests.helpers.apify import make_posts, tiktok_item
from tracking.models import FraudSignal, Post
from tracking.review import reasons_for

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(hours=5)


def _ingest(guild, post, at, **counts):
    item = normalize_item(platform="tiktok", item=tiktok_item(post, **counts))
    return ingest_items(guild_id=guild.id, platform="tiktok", items=[item], captured_at=at, provider="apify")


def _set(guild, bypass, **fields):
    with bypass():
        Guild.objects.filter(pk=guild.pk).update(**fields)


def _reload(post, bypass) -> Post:
    with bypass():
        return Post.objects.get(pk=post.pk)


def test_the_defaults_are_the_thresholds_every_guild_had(guild):
    assert Thresholds.for_guild(guild.id) == DEFAULT_THRESHOLDS
    assert DEFAULT_THRESHOLDS == Thresholds(
        spike_min_views=10_000,
        spike_max_engagement_pct=Decimal("0.20"),
        views_drop_min=100,
        views_drop_pct=Decimal("1.00"),
        engagement_drop_min=50,
        engagement_drop_pct=Decimal("10.00"),
    )


def test_a_stricter_guild_flags_a_spike_a_guild_on_the_defaults_does_not(guild, other_guild, bypass):
    _set(guild, bypass, fraud_spike_min_views=2_000, fraud_spike_max_engagement_pct=Decimal("1.5"))
    (strict,) = make_posts(guild, 1)
    (relaxed,) = make_posts(other_guild, 1)
    for g, post in ((guild, strict), (other_guild, relaxed)):
        _ingest(g, post, T0, views=1_000, likes=100, comments=10)
        _ingest(g, post, T0 + timedelta(hours=1), views=6_000, likes=130, comments=10)  # +5,000 views, 0.6 %

    assert _reload(relaxed, bypass).status == Post.Status.TRACKING
    with bypass():
        assert not FraudSignal.objects.filter(post=relaxed).exists()
    flagged = _reload(strict, bypass)
    assert flagged.status == Post.Status.FLAGGED
    expected = (
        "+5,000 views with only +30 likes and comments since the previous measurement (0.6 % of the views gained)."
    )
    assert flagged.status_reason == expected  # what the creator is told: the numbers, not the thresholds
    with bypass():
        assert reasons_for(guild.id, [flagged]) == {
            flagged.pk: [
                f"Views spiked without engagement: {expected} This server flags 2,000+ views gained with likes"
                " and comments under 1.5 % of them."
            ]
        }


def test_a_guild_that_allows_bigger_drops_is_not_flagged_where_the_defaults_would(guild, other_guild, bypass):
    _set(guild, bypass, fraud_engagement_drop_min=500, fraud_engagement_drop_pct=Decimal("50"))
    (tolerant,) = make_posts(guild, 1)
    (default,) = make_posts(other_guild, 1)
    for g, post in ((guild, tolerant), (other_guild, default)):
        _ingest(g, post, T0, views=50_000, likes=4_000, comments=10)
        _ingest(g, post, T0 + timedelta(hours=1), views=50_500, likes=3_000, comments=10)  # likes -25 %
    assert _reload(tolerant, bypass).status == Post.Status.TRACKING
    flagged = _reload(default, bypass)
    assert flagged.status == Post.Status.FLAGGED
    assert flagged.status_reason == "Counts went down: likes 4,000 → 3,000 (-25 %)."


def test_rounded_counts_get_their_slack_and_say_so():
    limits = DEFAULT_THRESHOLDS
    previous = Point(views=10_000, likes=1_000, comments=10, rounded=True)
    assert detect_signals(previous=previous, current=Point(10_000, 860, 10), thresholds=limits) == []  # -14 % < 15 %
    [finding] = detect_signals(previous=previous, current=Point(10_000, 800, 10), thresholds=limits)
    assert finding.reason == "Counts went down: likes 1,000 → 800 (-20 %)."


def test_thresholds_cost_one_query_per_dataset_whatever_its_size(guild, django_assert_max_num_queries):
    posts = make_posts(guild, 200)
    items = [normalize_item(platform="tiktok", item=tiktok_item(p, views=1_000)) for p in posts]
    ingest_items(guild_id=guild.id, platform="tiktok", items=items, captured_at=T0, provider="apify")
    later = [normalize_item(platform="tiktok", item=tiktok_item(p, views=800)) for p in posts]  # every post drops
    with django_assert_max_num_queries(18):
        result = ingest_items(
            guild_id=guild.id, platform="tiktok", items=later, captured_at=T0 + timedelta(hours=1), provider="apify"
        )
    assert result.flagged == 200
