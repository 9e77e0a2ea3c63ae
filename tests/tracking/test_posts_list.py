"""The posts list and the other lists built from columns (issue 17): their bodies are their serializers'
bodies, and pages do not count the whole guild unless asked to (``?count=exact``)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from core.api.rows import plan_for
from guilds.api import CreatorSerializer
from guilds.models import Creator
from metrics.api import SnapshotSerializer
from metrics.models import VideoMetrics
from tests.factories import make_campaign, make_post, make_profile, make_snapshot
from tests.helpers.api import admin_client  # noqa: F401 - the fixture
from tracking.api import PostSerializer, ProfileSerializer
from tracking.models import Post, Profile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


def _as_json(data):
    return json.loads(JSONRenderer().render(data))


def test_the_list_body_is_the_serializers_body(admin_client, guild, bypass):  # noqa: F811
    now = timezone.now().replace(microsecond=123456)
    campaign = make_campaign(guild)
    posts = [
        make_post(guild),  # mostly defaults: null campaign, counting window, refresh times
        make_post(
            guild,
            campaign=campaign,
            client_account=campaign.client_account,
            caption="Tried the new flavour #ad",
            caption_verdict="fail",
            caption_reasons=["missing tag #brand", {"word": "cheap"}],
            status=Post.Status.FLAGGED,
            status_reason="views jumped 40x in an hour",
            views=1_234_567,
            likes=89,
            comments=3,
            shares=1,
            metrics_updated_at=now,
            next_refresh_at=now + timedelta(hours=2),
            counting_ends_at=now + timedelta(days=30),
            failure_count=2,
            last_failure_reason="actor timed out",
        ),
        make_post(guild, posted_at=None),
    ]
    body = admin_client.get(f"/api/v1/guilds/{guild.pk}/posts").json()
    with bypass():
        ordered = Post.objects.filter(pk__in=[p.pk for p in posts]).order_by("-submitted_at", "-pk")
        expected = _as_json(PostSerializer(ordered, many=True).data)
    assert body["results"] == expected
    assert body["results"][1]["caption_reasons"] == ["missing tag #brand", {"word": "cheap"}]
    assert list(body["results"][0]) == list(PostSerializer().fields)  # same keys, same order


def test_other_lists_built_from_columns_are_their_serializers_bodies(admin_client, guild, bypass):  # noqa: F811
    post = make_post(guild, caption="x")
    make_profile(guild, verification_status="verified", verified_at=timezone.now())
    make_snapshot(post, views=10, at=timezone.now() - timedelta(hours=2), saves=None)
    make_snapshot(post, views=25, at=timezone.now() - timedelta(hours=1), saves=4, rounded=True)
    with bypass():
        expected = {
            "creators": CreatorSerializer(Creator.objects.filter(guild=guild).order_by("username", "pk"), many=True),
            "profiles": ProfileSerializer(
                Profile.objects.filter(guild=guild).order_by("platform", "handle", "pk"), many=True
            ),
            f"posts/{post.pk}/series": SnapshotSerializer(
                VideoMetrics.objects.filter(post=post).order_by("captured_at"), many=True
            ),
        }
        expected = {path: _as_json(serializer.data) for path, serializer in expected.items()}
    for path, rows in expected.items():
        body = admin_client.get(f"/api/v1/guilds/{guild.pk}/{path}").json()
        assert body["results"] == rows and len(rows) >= 2, path


def test_a_serializer_with_anything_but_columns_is_serialized_as_usual():
    class WithMethod(serializers.ModelSerializer):
        title = serializers.SerializerMethodField()

        class Meta:
            model = Post
            fields = ["id", "title"]

        def get_title(self, post):
            return post.caption[:20]

    class ThroughNullable(serializers.ModelSerializer):
        campaign_name = serializers.CharField(source="campaign.name", read_only=True)  # campaign may be null

        class Meta:
            model = Post
            fields = ["id", "campaign_name"]

    assert plan_for(WithMethod) is None
    assert plan_for(ThroughNullable) is None

    class Masked(serializers.ModelSerializer):
        class Meta:
            model = Post
            fields = ["id", "caption"]

        def to_representation(self, instance):
            return {**super().to_representation(instance), "caption": "***"}

    assert plan_for(Masked) is None
    assert plan_for(PostSerializer) is not None


def test_pages_count_only_when_the_total_is_free_or_asked_for(admin_client, guild):  # noqa: F811
    for _ in range(5):
        make_post(guild)
    url = f"/api/v1/guilds/{guild.pk}/posts"
    with CaptureQueriesContext(connection) as queries:
        first = admin_client.get(url, {"page_size": 2})
    assert first.status_code == 200
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    first = first.json()
    assert first["count"] is None and len(first["results"]) == 2
    assert "page=2" in first["next"] and "page_size=2" in first["next"] and first["previous"] is None

    second = admin_client.get(url, {"page_size": 2, "page": 2}).json()
    assert second["count"] is None and "page=3" in second["next"]
    assert "page=" not in second["previous"] and "page_size=2" in second["previous"]

    last = admin_client.get(url, {"page_size": 2, "page": 3}).json()
    assert last["count"] == 5 and len(last["results"]) == 1 and last["next"] is None  # free on the last page
    assert "page=2" in last["previous"]
    ids = [p["id"] for page in (first, second, last) for p in page["results"]]
    assert len(set(ids)) == 5  # every post once, none skipped

    with CaptureQueriesContext(connection) as queries:
        exact = admin_client.get(url, {"page_size": 2, "count": "exact"}).json()
    assert exact["count"] == 5 and [p["id"] for p in exact["results"]] == ids[:2]
    assert len([q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]) == 1

    assert admin_client.get(url, {"page_size": 2, "page": "last"}).json()["results"] == last["results"]
    assert admin_client.get(url).json()["count"] == 5  # one page holds them all


def test_bad_pages_and_counts_are_refused_with_a_reason(admin_client, guild):  # noqa: F811
    make_post(guild)
    url = f"/api/v1/guilds/{guild.pk}/posts"
    beyond = admin_client.get(url, {"page": 2})
    assert beyond.status_code == 404 and beyond.json()["error"]["message"] == "Invalid page."
    assert admin_client.get(url, {"page": "0"}).status_code == 404
    assert admin_client.get(url, {"page": "99999999999999999999"}).status_code == 404
    bad = admin_client.get(url, {"count": "yes"})
    assert bad.status_code == 400
    assert "exact" in bad.json()["error"]["fields"]["count"][0]


def test_an_empty_guild_has_an_empty_first_page(admin_client, guild):  # noqa: F811
    body = admin_client.get(f"/api/v1/guilds/{guild.pk}/posts").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_filters_still_apply_and_are_still_checked(admin_client, guild):  # noqa: F811
    make_post(guild)
    flagged = make_post(guild, status=Post.Status.FLAGGED)
    url = f"/api/v1/guilds/{guild.pk}/posts"
    body = admin_client.get(url, {"status": "flagged"}).json()
    assert [p["id"] for p in body["results"]] == [flagged.pk] and body["count"] == 1
    assert admin_client.get(url, {"status": "nonsense"}).status_code == 400
    assert admin_client.get(url, {"creator": "0"}).status_code == 400


# --- The rows PostgreSQL writes as JSON text, the SQL reused per guild, the round trips (issue 17) ---


def test_the_body_is_byte_for_byte_drfs_whatever_the_text_and_times(admin_client, guild, bypass):  # noqa: F811
    """On PostgreSQL the page query writes each row's JSON (core/api/rows.py); anywhere else Python
    does. Either way the body's bytes are DRF's for the serializer's data: escapes, non-ASCII text,
    U+2028, microseconds or none, nulls, a JSON column with nesting and unicode."""
    at = timezone.now().replace(microsecond=0)
    campaign = make_campaign(guild)
    posts = [
        make_post(
            guild,
            caption='Quote " backslash \\ tab \t newline \n bell \x07 del \x7f é ✓ 😀 line\u2028sep',
            status_reason="</script><!-- & 'single'",
            caption_reasons=["é ✓", {"nested": [1, 2.5, None, True, "x\ny"], "ü": {}}, [], ""],
            posted_at=at,  # no microseconds: no fraction written
            metrics_updated_at=at.replace(microsecond=1),
            next_refresh_at=at.replace(microsecond=120000),
        ),
        make_post(guild, campaign=campaign, client_account=campaign.client_account, posted_at=None),
    ]
    response = admin_client.get(f"/api/v1/guilds/{guild.pk}/posts")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    with bypass():
        ordered = Post.objects.filter(pk__in=[p.pk for p in posts]).order_by("-submitted_at", "-pk")
        expected = {"count": 2, "next": None, "previous": None, "results": PostSerializer(ordered, many=True).data}
    assert response.content == JSONRenderer().render(expected)
    assert b"\\u2028" in response.content and "\u2028".encode() not in response.content  # JS-safe, as DRF


def test_a_page_takes_the_same_statements_whatever_its_size_and_the_sql_is_reused(guild, other_guild, bypass):
    """Service key, first page: the tenant, the revocation check, the page; no count, nothing per row.
    The page's SQL, compiled once per guild and page, never serves another guild or a filtered list."""
    from tests.helpers.api import READER_KEY, key_client

    mine = [make_post(guild) for _ in range(4)]
    theirs = make_post(other_guild)
    flagged = make_post(guild, status=Post.Status.FLAGGED)
    client = key_client(READER_KEY)
    url = f"/api/v1/guilds/{guild.pk}/posts"
    counts = []
    for size in (1, 3, 200, 200):  # the last one again: its SQL is reused
        with CaptureQueriesContext(connection) as queries:
            body = client.get(url, {"page_size": size}).json()
        counts.append(len(queries.captured_queries))
        assert [p["id"] for p in body["results"]] == [p.pk for p in [flagged, *reversed(mine)]][:size]
    assert counts == [2, 2, 2, 2]  # the revocation check and the page (and on PostgreSQL the tenant, not logged)

    other = client.get(f"/api/v1/guilds/{other_guild.pk}/posts").json()
    assert [p["id"] for p in other["results"]] == [theirs.pk]
    filtered = client.get(url, {"status": "flagged"}).json()
    assert [p["id"] for p in filtered["results"]] == [flagged.pk]
    assert client.get(url, {"status": "nonsense"}).status_code == 400  # the filter is still checked
    assert [p["id"] for p in client.get(url).json()["results"]][:1] == [flagged.pk]


def test_a_key_revoked_between_two_requests_is_refused_at_the_next(guild):
    from dashboard_auth.models import RevokedServiceKey
    from tests.helpers.api import READER_KEY, key_client

    make_post(guild)
    url = f"/api/v1/guilds/{guild.pk}/posts"
    assert key_client(READER_KEY).get(url).status_code == 200
    RevokedServiceKey.objects.create(name="reader", revoked_by="staff:alice", reason="leaked")
    refused = key_client(READER_KEY).get(url)
    assert refused.status_code == 401
    assert refused.json()["error"] == {"code": "revoked_key", "message": "This API key was revoked.", "fields": {}}


def test_indented_json_and_the_browsable_api_still_render_the_rows(admin_client, guild):  # noqa: F811
    post = make_post(guild, caption="Indented")
    url = f"/api/v1/guilds/{guild.pk}/posts"
    indented = admin_client.get(url, HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200 and b'\n  "results": [\n    {\n' in indented.content
    assert json.loads(indented.content)["results"][0]["caption"] == "Indented"
    page = admin_client.get(url, HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert f"&quot;id&quot;: {post.pk}" in page.content.decode()


def test_raw_json_reads_like_its_value():
    from core.api.renderers import JSONRenderer as ApiJSONRenderer
    from core.api.renderers import RawJSON

    rows = RawJSON('[{"a":1},{"b":"\u2028"}]')
    assert rows == [{"a": 1}, {"b": "\u2028"}] and len(rows) == 2 and rows[0] == {"a": 1}
    body = ApiJSONRenderer().render({"count": None, "results": rows})
    assert body == JSONRenderer().render({"count": None, "results": [{"a": 1}, {"b": "\u2028"}]})
    assert ApiJSONRenderer().render(rows) == JSONRenderer().render(rows.value)


def test_the_page_statement_prepared_once_serves_each_guild_its_own_rows(guild, other_guild):
    """On PostgreSQL the unfiltered page's statement is prepared once per connection (the guild is a
    parameter) and runs under each request's tenant: guild after guild on one connection, each sees
    its own posts only; a rolled-back savepoint in between changes nothing."""
    from django.db import transaction

    from tests.helpers.api import READER_KEY, key_client

    mine, theirs = make_post(guild), make_post(other_guild)
    client = key_client(READER_KEY)
    for _ in range(2):
        for g, post in ((guild, mine), (other_guild, theirs), (guild, mine)):
            assert [p["id"] for p in client.get(f"/api/v1/guilds/{g.pk}/posts").json()["results"]] == [post.pk]
        try:
            with transaction.atomic():
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%tracking_post%"])
            assert cursor.fetchone()[0] == 1
