"""The picture each post's scrape returned, on the posts list, the review page and the post page: a
small lazy image with alt text, a neutral box when there is none; the pages' CSP lets https images
load; the API and its schema carry ``thumbnail_url``."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import make_post
from tracking.models import Post

pytestmark = pytest.mark.django_db

PICTURE = "https://p16-sign.tiktokcdn.com/tos-alisg-p-0037/cover.jpeg?x-expires=1767225600&x-signature=abc"


def _url(guild, name, *extra):
    return reverse(f"dashboard:{name}", args=[guild.pk, *extra])


def _images(html: str) -> list[str]:
    return re.findall(r'<img class="thumb[^"]*"[^>]*>', html)


@pytest.fixture
def posts(guild):
    pictured = make_post(
        guild, status=Post.Status.FLAGGED, caption="Unboxing the new Globex headset", thumbnail_url=PICTURE
    )
    bare = make_post(guild, status=Post.Status.FLAGGED, caption="No picture for this one yet")
    return pictured, bare


def test_the_posts_list_shows_each_posts_picture_or_a_placeholder(admin_client, guild, posts):
    response = admin_client.get(_url(guild, "posts"))
    html = response.content.decode()
    [img] = _images(html)
    assert (
        'src="https://p16-sign.tiktokcdn.com/tos-alisg-p-0037/cover.jpeg?x-expires=1767225600&amp;x-signature=abc"'
        in img
    )
    assert 'alt="Thumbnail of Unboxing the new Globex headset"' in img
    assert 'loading="lazy"' in img and 'referrerpolicy="no-referrer"' in img and 'width="40"' in img
    assert html.count('data-testid="post-thumbnail-empty"') == 1  # the post without one
    assert "img-src 'self' data: https:;" in response["Content-Security-Policy"]


def test_the_review_page_shows_the_pictures(admin_client, guild, posts):
    html = admin_client.get(_url(guild, "review")).content.decode()
    [img] = _images(html)
    assert "Thumbnail of Unboxing the new Globex headset" in img
    assert 'aria-label="No thumbnail yet"' in html


def test_the_post_page_shows_a_larger_picture(admin_client, guild, posts):
    pictured, bare = posts
    [img] = _images(admin_client.get(_url(guild, "post-detail", pictured.pk)).content.decode())
    assert 'class="thumb thumb-large"' in img and 'width="160"' in img and 'loading="lazy"' in img
    page = admin_client.get(_url(guild, "post-detail", bare.pk)).content.decode()
    assert _images(page) == [] and 'data-testid="post-thumbnail-empty"' in page


def test_the_api_and_its_schema_carry_the_thumbnail_url(admin_client, guild, posts):
    pictured, bare = posts
    token = admin_client.logged_in.access_token
    r = admin_client.get(f"/api/v1/guilds/{guild.pk}/posts/{pictured.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200 and r.json()["thumbnail_url"] == PICTURE
    schema = admin_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    post_schema = next(s for name, s in schema.items() if name == "Post")
    assert post_schema["properties"]["thumbnail_url"]["readOnly"] is True
    settings_schema = schema["GuildSettings"]["properties"]
    assert {"fraud_spike_min_views", "fraud_views_drop_pct"} <= set(settings_schema)
    change = schema["PatchedGuildSettingsChangeRequest"]["properties"]
    assert change["fraud_spike_max_engagement_pct"]["type"] == "string"  # a decimal, like "0.20"
