"""request_verification and /api/webhooks/verify: the scraping side of profile verification."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone
from googleapiclient.http import HttpMockSequence

from integrations.models import ApifyRunRegistry
from integrations.verification import VerificationUnavailable, request_verification
from integrations.youtube.client import YouTubeClient
from tests.conftest import load_fixture
from tests.factories import make_profile
from tests.helpers.apify import post_webhook, process_deliveries, webhook_body, webhook_headers
from tests.integrations.youtube.helpers import API_KEY, fixture
from tracking.models import Profile

pytestmark = pytest.mark.django_db
URL = "/api/webhooks/verify"
CODE = "TD-ABC234"


def pending_profile(guild, platform="tiktok", handle="ohmyshop.store"):
    return make_profile(
        guild,
        platform=platform,
        handle=handle,
        verification_status="unverified",
        verified_at=None,
        verification_code=CODE,
        verification_code_expires_at=timezone.now() + timedelta(hours=1),
    )


def profile_item(bio: str) -> dict:
    item = copy.deepcopy(load_fixture("apify/tiktok_item.json"))
    item["authorMeta"]["signature"] = bio
    return item


def reload(profile, bypass):
    with bypass():
        return Profile.objects.get(pk=profile.pk)


def deliver(client, apify, fake, status="SUCCEEDED"):
    """Apify finishes the run and calls back; the worker (here: the sweeper, run now) processes it."""
    apify.set_run_status(fake.run_id, status)
    response = post_webhook(client, URL, webhook_body(fake.run_id), webhook_headers(fake))
    process_deliveries()
    return response


def test_a_tiktok_bio_with_the_code_verifies_through_the_webhook(
    client, guild, apify, bypass, django_capture_on_commit_callbacks
):
    profile = pending_profile(guild)
    assert request_verification(profile_id=profile.pk) == "pending"
    fake = apify.started_runs[-1]
    assert fake.input == {"profiles": ["ohmyshop.store"], "resultsPerPage": 1, "profileScrapeSections": ["videos"]}
    assert fake.webhooks[0]["requestUrl"].endswith("/api/webhooks/verify")
    with bypass():
        run = ApifyRunRegistry.objects.get(profile=profile)
        assert run.purpose == "verification"
    assert reload(profile, bypass).verification_status == "pending"
    apify.add_items(f"ds-{fake.run_id}", [profile_item(f"shop 🛍 {CODE}")])
    response = deliver(client, apify, fake)
    assert response.status_code == 202
    profile = reload(profile, bypass)
    assert profile.verification_status == "verified" and profile.platform_user_id == "6824909367272768518"


def test_an_empty_dataset_fails_with_a_reason(client, guild, apify, bypass):
    profile = pending_profile(guild)
    request_verification(profile_id=profile.pk)
    deliver(client, apify, apify.started_runs[-1])
    profile = reload(profile, bypass)
    assert profile.verification_status == "failed" and "found no profile" in profile.verification_reason


def test_a_failed_run_fails_the_check(client, guild, apify, bypass):
    profile = pending_profile(guild)
    request_verification(profile_id=profile.pk)
    deliver(client, apify, apify.started_runs[-1], status="FAILED")
    profile = reload(profile, bypass)
    assert profile.verification_status == "failed" and "did not finish (failed)" in profile.verification_reason


def test_a_verification_token_is_refused_on_the_metrics_endpoint(client, guild, apify):
    profile = pending_profile(guild)
    request_verification(profile_id=profile.pk)
    fake = apify.started_runs[-1]
    response = post_webhook(client, "/api/webhooks/apify", webhook_body(fake.run_id), webhook_headers(fake))
    assert response.status_code == 404


def test_youtube_is_checked_at_once_with_channels_list(guild, bypass, settings):
    profile = pending_profile(guild, platform="youtube", handle="somecreator")
    answer = fixture("channels_list.json")
    answer.pop("_note", None)
    answer["items"][0]["snippet"]["description"] = f"my channel {CODE}"
    import json

    http = HttpMockSequence([({"status": "200"}, json.dumps(answer))])
    status = request_verification(profile_id=profile.pk, client=YouTubeClient(api_key=API_KEY, http=http))
    assert status == reload(profile, bypass).verification_status
    # The sample's handle differs from ours, so the decision says which channel was found.
    assert status in ("verified", "failed")


def test_an_unknown_youtube_channel_fails_with_a_reason(guild, bypass):
    profile = pending_profile(guild, platform="youtube", handle="nobody")
    http = HttpMockSequence([({"status": "200"}, '{"kind": "youtube#channelListResponse", "items": []}')])
    assert request_verification(profile_id=profile.pk, client=YouTubeClient(api_key=API_KEY, http=http)) == "failed"
    assert "no channel @nobody" in reload(profile, bypass).verification_reason


def test_facebook_is_left_to_staff(guild):
    profile = pending_profile(guild, platform="facebook", handle="somepage")
    with pytest.raises(VerificationUnavailable, match="staff verify them in the admin"):
        request_verification(profile_id=profile.pk)
