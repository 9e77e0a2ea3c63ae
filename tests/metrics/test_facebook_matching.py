"""Facebook items are matched to posts however the post was submitted: real page-scrape items carry
``postId``, a ``pfbid`` permalink in ``url`` and the canonical ``topLevelUrl``, whose id is often
another number than ``postId`` (tests/fixtures/apify/facebook_post_item.json is such an item)."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.apify.normalize import normalize_item
from metrics.ingestion import ingest_items
from metrics.models import VideoMetrics
from tests.conftest import load_fixture
from tests.factories import make_post, make_profile
from tracking.models import Post

pytestmark = pytest.mark.django_db

ITEM = load_fixture("apify/facebook_post_item.json")
POST_ID = ITEM["postId"]  # 955713720579845
TOP_LEVEL_ID = ITEM["topLevelUrl"].rstrip("/").rsplit("/", 1)[-1]  # 954933103991240
T0 = timezone.now().replace(microsecond=0) - timedelta(hours=3)


def _item(**changes) -> dict:
    item = copy.deepcopy(ITEM)
    item.update(changes)
    return item


def _ingest(guild, raw: dict, at=T0):
    return ingest_items(
        guild_id=guild.id,
        platform="facebook",
        items=[normalize_item(platform="facebook", item=raw)],
        captured_at=at,
        provider="apify",
        run_id="fbrun",
    )


def _post(guild, url: str, external_id: str | None, needs_resolution: bool) -> Post:
    profile = make_profile(guild, platform="facebook")
    return make_post(
        guild,
        profile,
        platform="facebook",
        external_id=external_id,
        submitted_url=url,
        canonical_url=url,
        needs_resolution=needs_resolution,
    )


def test_the_fixture_is_the_real_shape_this_test_is_about():
    assert POST_ID != TOP_LEVEL_ID and ITEM["url"].startswith("https://www.facebook.com/permalink.php")
    assert ITEM["inputUrl"] != ITEM["topLevelUrl"]  # a page scrape: the input is the page, not the post


def test_a_post_submitted_by_its_numeric_link_is_matched_by_the_id_and_settled(guild, bypass):
    post = _post(guild, f"https://www.facebook.com/thelabeljenn/posts/{TOP_LEVEL_ID}", TOP_LEVEL_ID, True)
    result = _ingest(guild, _item(likes="12"))
    assert (result.inserted, result.unmatched) == (1, 0)
    with bypass():
        post.refresh_from_db()
        assert (post.external_id, post.needs_resolution) == (POST_ID, False)
        assert post.canonical_url == ITEM["topLevelUrl"]
        assert post.likes == 12
    again = _ingest(guild, _item(likes="15"), at=T0 + timedelta(hours=1))  # now by postId
    assert (again.inserted, again.unmatched) == (1, 0)
    with bypass():
        assert VideoMetrics.objects.filter(post=post).count() == 2


def test_a_post_submitted_by_its_permalink_is_matched_by_url(guild, bypass):
    post = _post(guild, ITEM["url"], None, True)
    result = _ingest(guild, _item())
    assert (result.inserted, result.unmatched) == (1, 0)
    with bypass():
        post.refresh_from_db()
        assert (post.external_id, post.needs_resolution) == (POST_ID, False)


def test_a_post_tracked_under_another_id_is_not_taken_by_a_url(guild, bypass):
    """A settled post whose id differs from the item's is a different post, even if a URL agrees."""
    other = _post(guild, ITEM["url"], "111111111111111", False)
    result = _ingest(guild, _item())
    assert (result.inserted, result.unmatched) == (0, 1)
    with bypass():
        assert not VideoMetrics.objects.filter(post=other).exists()
