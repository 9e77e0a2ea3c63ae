"""The review queue over the API: the dashboard's count and reasons, and bulk decisions all or none."""

from __future__ import annotations

import json

import pytest

from core.tenancy import guild_scope
from tests.factories import make_post
from tests.helpers.api import READER_KEY, WRITER_KEY, admin_client, key_client  # noqa: F401
from tracking.models import FraudSignal, Post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


@pytest.fixture
def waiting(guild):
    spiked = make_post(guild, status=Post.Status.FLAGGED)
    manual = make_post(guild, status=Post.Status.FLAGGED, status_reason="Looks reposted")
    make_post(guild)
    with guild_scope(guild.pk):
        FraudSignal.objects.create(
            guild=guild, post=spiked, kind=FraudSignal.Kind.SPIKE_WITHOUT_ENGAGEMENT, reason="Views x40 in one hour"
        )
    return spiked, manual


def _post(client, guild, body):
    return client.post(f"/api/v1/guilds/{guild.pk}/posts/review", json.dumps(body), content_type="application/json")


def test_the_queue_has_the_dashboards_count_and_reasons(admin_client, guild, waiting):  # noqa: F811
    body = admin_client.get(f"/api/v1/guilds/{guild.pk}/review-queue").json()
    assert body["count"] == 2
    reasons = {row["id"]: row["reasons"] for row in body["results"]}
    assert reasons[waiting[0].pk] == [
        "Views spiked without engagement: Views x40 in one hour"
        " This server flags 10,000+ views gained with likes and comments under 0.2 % of them."
    ]
    assert reasons[waiting[1].pk] == ["Looks reposted"]
    first = admin_client.get(f"/api/v1/guilds/{guild.pk}/review-queue", {"page_size": 1}).json()
    assert first["count"] == 2 and len(first["results"]) == 1 and first["next"]  # counted on every page


def test_bulk_reject_with_a_reason_rejects_them_all(admin_client, guild, waiting):  # noqa: F811
    ids = [p.pk for p in waiting]
    response = _post(admin_client, guild, {"post_ids": ids, "action": "reject", "reason": "Reposted content"})
    assert response.status_code == 200, response.content
    assert response.json() == {"reviewed": ids, "status": "rejected"}
    with guild_scope(guild.pk):
        assert list(Post.objects.filter(pk__in=ids).values_list("status_reason", flat=True)) == ["Reposted content"] * 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"post_ids": "ALL", "action": "reject", "reason": "x"}, 400, "invalid"),
        ({"action": "approve"}, 400, "invalid"),
        ({"post_ids": [1], "action": "finalize"}, 400, "invalid"),
        ({"post_ids": list(range(1, 102)), "action": "approve"}, 400, "invalid"),
        ({"post_ids": ["WAITING"], "action": "reject"}, 400, "reason_required"),
    ],
)
def test_bad_bulk_requests_are_refused_and_change_nothing(admin_client, guild, waiting, body, status, code):  # noqa: F811
    if body.get("post_ids") == ["WAITING"]:
        body["post_ids"] = [p.pk for p in waiting]
    response = _post(admin_client, guild, body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    with guild_scope(guild.pk):
        assert Post.objects.filter(status="flagged").count() == 2


def test_a_read_only_key_cannot_decide(guild, waiting):
    response = _post(key_client(READER_KEY), guild, {"post_ids": [waiting[0].pk], "action": "approve"})
    assert response.status_code == 403
    assert _post(key_client(WRITER_KEY), guild, {"post_ids": [waiting[0].pk], "action": "approve"}).status_code == 200
