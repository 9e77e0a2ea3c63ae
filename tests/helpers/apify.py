"""Apify for tests across apps: the fake Apify server wired into settings, posts in bulk, dataset
items and webhook deliveries.

Import the ``apify`` fixture (it needs tests.fakes.apify_server's ``apify_server`` beside it) in the
conftest.py of the tests that use it; import the helpers by name where they are used.
"""

from __future__ import annotations

import copy
import itertools
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from core.tenancy import rls_bypass
from guilds.models import GuildBudgetConfig
from integrations.apify.tokens import RUN_TOKEN_HEADER
from metrics.runs import process_due_deliveries
from tests.conftest import load_fixture
from tests.factories import make_client_account, make_profile
from tracking.models import Post

SECRET = "test-signing-secret-0123456789abcdef0123456789"
_dispatch = itertools.count(1)


@pytest.fixture
def apify(settings, apify_server):
    """The fake Apify API behind our settings, no retries (failures show at once)."""
    settings.APIFY_API_TOKEN = "apify-test-token"
    settings.APIFY_API_BASE_URL = apify_server.base_url
    settings.APIFY_WEBHOOK_SIGNING_SECRET = SECRET
    settings.APIFY_MAX_RETRIES = 0
    settings.APIFY_RETRY_DELAY_MS = 1
    settings.APIFY_HTTP_TIMEOUT_MS = 5000
    settings.PUBLIC_BASE_URL = "https://tracking.example.com"
    settings.WEBHOOK_SIGNED_PAYLOAD_MODE = "enforce"
    settings.WEBHOOK_ALLOWED_ORIGINS = ["api.apify.com"]
    return apify_server


def make_posts(guild, n: int, *, platform: str = "tiktok", profile=None, **fields) -> list[Post]:
    """``n`` posts of one profile, written with one bulk insert (fast enough for 500)."""
    with rls_bypass(reason="test factory"):
        profile = profile or make_profile(guild, platform=platform)
        client = make_client_account(guild)
        start = next(_ids)
        posts = []
        for i in range(n):
            ext = str(7_100_000_000_000_000_000 + start * 10_000 + i)
            url = f"https://www.tiktok.com/@{profile.handle}/video/{ext}"
            values = {
                "guild": guild,
                "creator": profile.creator,
                "profile": profile,
                "client_account": client,
                "platform": platform,
                "external_id": ext,
                "submitted_url": url,
                "canonical_url": url,
                "status": Post.Status.TRACKING,
                "posted_at": timezone.now() - timedelta(days=1),
            }
            posts.append(Post(**{**values, **fields}))
        return Post.objects.bulk_create(posts)


_ids = itertools.count(1)


def tiktok_item(post: Post, *, views=1000, likes=100, comments=10, shares=5, author=None, **extra) -> dict:
    """A real clockworks/tiktok-scraper item, re-pointed at ``post``."""
    item = copy.deepcopy(load_fixture("apify/tiktok_item.json"))
    item.update(
        id=post.external_id,
        webVideoUrl=post.canonical_url,
        submittedVideoUrl=post.submitted_url,
        playCount=views,
        diggCount=likes,
        commentCount=comments,
        shareCount=shares,
        **extra,
    )
    item["authorMeta"]["name"] = author or post.profile.handle
    item["authorMeta"]["id"] = "author-id-of-" + (author or post.profile.handle)
    return item


def set_budget(guild, **fields) -> None:
    with rls_bypass(reason="test setup"):
        GuildBudgetConfig.objects.filter(guild=guild).update(**fields)


def webhook_headers(started_run, *, dispatch_id: str | None = None, origin: str = "api.apify.com") -> dict:
    """The headers Apify sends: ours from headersTemplate plus its own."""
    ours = json.loads(started_run.webhooks[0]["headersTemplate"])
    return {
        **ours,
        "X-Apify-Webhook-Dispatch-Id": dispatch_id or f"dispatch-{next(_dispatch)}",
        "X-Apify-Request-Origin": origin,
        "X-Apify-Webhook": "test",
    }


def webhook_body(run_id: str, event: str = "ACTOR.RUN.SUCCEEDED") -> bytes:
    payload = load_fixture("apify/apify_webhook_payload.json")
    payload["eventType"] = event
    payload["eventData"]["actorRunId"] = run_id
    payload["resource"]["id"] = run_id
    return json.dumps(payload).encode()


def post_webhook(client, url: str, body: bytes, headers: dict):
    return client.post(url, data=body, content_type="application/json", headers=headers)


def process_deliveries():
    """What the worker does next: without a broker (as in tests) manage.py track's sweeper processes
    the accepted deliveries; this is that sweeper, run now."""
    return process_due_deliveries()


__all__ = [
    "RUN_TOKEN_HEADER",
    "SECRET",
    "make_posts",
    "post_webhook",
    "process_deliveries",
    "set_budget",
    "tiktok_item",
    "webhook_body",
    "webhook_headers",
]
