"""One error shape everywhere, JSON 404/500 for /api/ paths, the schema and docs are served."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tests.helpers.api import BOT_KEY, key_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


def test_validation_errors_name_their_fields(guild):
    r = key_client(BOT_KEY).post(
        f"/api/v1/bot/guilds/{guild.pk}/creators", {"username": ""}, content_type="application/json"
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"discord_user_id", "username"}
    assert error["message"]


def test_malformed_json_is_400_in_the_shape(guild):
    r = key_client(BOT_KEY).post(
        f"/api/v1/bot/guilds/{guild.pk}/creators", "{not json", content_type="application/json"
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "parse_error"


def test_wrong_method_is_405_in_the_shape(admin_client, guild):
    r = admin_client.put(f"/api/v1/guilds/{guild.pk}/posts", {}, content_type="application/json")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


@override_settings(ROOT_URLCONF="tracking.urls")
def test_unknown_api_path_is_json_404():
    r = Client().get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
    huge = Client().get("/api/v1/guilds/99999999999999999999999/posts")  # would overflow bigint
    assert huge.status_code == 404 and huge.json()["error"]["code"] == "not_found"


def test_handler500_is_json_for_api_paths(rf):
    from core.api.errors import handler500

    r = handler500(rf.get("/api/v1/guilds"))
    assert r.status_code == 500
    assert b"server_error" in r.content


def test_schema_and_docs_are_served():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    body = schema.json()
    assert {"dashboardBearer", "dashboardCookie", "serviceKeyBearer", "serviceKeyHeader", "internalSecret"} <= set(
        body["components"]["securitySchemes"]
    )
    assert "/api/v1/auth/discord/callback" in body["paths"]
    posts = body["paths"]["/api/v1/guilds/{guild_id}/posts"]["get"]
    assert {"400", "401", "403", "404"} <= set(posts["responses"])
    assert Client().get("/api/docs/").status_code == 200


@pytest.mark.parametrize("action", ["approve", "reject", "flag", "finalize"])
def test_the_schema_shows_where_a_review_reason_goes(action):
    body = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = body["paths"][f"/api/v1/guilds/{{guild_id}}/posts/{{id}}/{action}"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = body["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
    assert "reason" in fields and fields["reason"]["maxLength"] == 500
