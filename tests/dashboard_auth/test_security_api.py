"""The security dashboard API: read keys read, admin keys revoke, everything audited."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard_auth.models import DashboardSession, RevokedServiceKey, SecurityEvent
from dashboard_auth.service_keys import ServiceKeyRefused, principal_for_key
from dashboard_auth.sessions import RefreshRefused, rotate_refresh_token, start_session
from guilds.models import DashboardAuditLog

pytestmark = pytest.mark.django_db

READ_KEY = "read-key-0123456789abcdef0123456789"
ADMIN_KEY = "admin-key-0123456789abcdef0123456789"
BOT_KEY = "bot-service-key-0123456789abcdef"
EVENTS = "/api/v1/security/events"
SESSIONS = "/api/v1/security/sessions"
ADMIN_ACTOR = "security-key:" + hashlib.sha256(ADMIN_KEY.encode()).hexdigest()[:6]


@pytest.fixture(autouse=True)
def keys(settings):
    settings.SECURITY_DASHBOARD_READ_KEYS = [READ_KEY]
    settings.SECURITY_DASHBOARD_ADMIN_KEYS = [ADMIN_KEY]
    settings.API_SERVICE_KEYS = [("bot", BOT_KEY, frozenset({"bot"}))]


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice")


def make_session(user, **kw) -> DashboardSession:
    defaults = {
        "refresh_token_hash": hashlib.sha256(str(kw).encode() + str(timezone.now()).encode()).hexdigest(),
        "expires_at": timezone.now() + timedelta(days=1),
    }
    return DashboardSession.objects.create(user=user, **{**defaults, **kw})


class TestAuthentication:
    def test_no_key_is_401(self, client):
        r = client.get(EVENTS)
        assert r.status_code == 401
        assert set(r.json()["error"]) == {"code", "message", "fields"}

    def test_unknown_key_is_401_and_recorded(self, client):
        r = client.get(EVENTS, headers=auth("not-a-key-0123456789"))
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_failed"
        assert SecurityEvent.objects.filter(kind="key_rejected", source="security_api").count() == 1

    def test_service_key_is_not_a_security_key(self, client):
        assert client.get(EVENTS, headers=auth(BOT_KEY)).status_code == 401

    def test_no_keys_configured_is_401(self, client, settings):
        settings.SECURITY_DASHBOARD_READ_KEYS = []
        settings.SECURITY_DASHBOARD_ADMIN_KEYS = []
        assert client.get(EVENTS, headers=auth(READ_KEY)).status_code == 401

    def test_admin_key_can_read(self, client):
        assert client.get(EVENTS, headers=auth(ADMIN_KEY)).status_code == 200


class TestEvents:
    def test_lists_events_newest_first_filtered_by_kind(self, client):
        SecurityEvent.objects.create(kind="login_failed", source="login", reason="state mismatch", ip="203.0.113.1")
        SecurityEvent.objects.create(kind="webhook_rejected", source="apify", reason="bad token")
        SecurityEvent.objects.create(kind="refresh_reuse", source="refresh", reason="rotated token presented")
        r = client.get(EVENTS, headers=auth(READ_KEY))
        assert r.status_code == 200
        assert [e["kind"] for e in r.json()["results"]] == ["refresh_reuse", "webhook_rejected", "login_failed"]
        r = client.get(EVENTS, {"kind": "login_failed"}, headers=auth(READ_KEY))
        assert r.json()["count"] == 1
        assert r.json()["results"][0] | {"id": 0, "created_at": ""} == {
            "id": 0,
            "kind": "login_failed",
            "source": "login",
            "reason": "state mismatch",
            "ip": "203.0.113.1",
            "created_at": "",
        }

    def test_unknown_kind_is_400_with_the_field(self, client):
        r = client.get(EVENTS, {"kind": "nonsense"}, headers=auth(READ_KEY))
        assert r.status_code == 400
        assert "kind" in r.json()["error"]["fields"]

    def test_paginated(self, client):
        SecurityEvent.objects.bulk_create(
            SecurityEvent(kind="login_failed", source="login", reason=f"try {n}") for n in range(60)
        )
        first = client.get(EVENTS, headers=auth(READ_KEY)).json()
        assert first["count"] == 60 and len(first["results"]) == 50 and first["next"]
        second = client.get(EVENTS, {"page": 2}, headers=auth(READ_KEY)).json()
        assert len(second["results"]) == 10

    def test_constant_queries(self, client, django_assert_max_num_queries):
        SecurityEvent.objects.bulk_create(
            SecurityEvent(kind="login_failed", source="login", reason=f"try {n}") for n in range(30)
        )
        with django_assert_max_num_queries(2):
            client.get(EVENTS, headers=auth(READ_KEY))


class TestSessions:
    def test_lists_only_active_sessions_without_token_hashes(self, client, user):
        active = make_session(user, ip="198.51.100.2", user_agent="Firefox")
        make_session(user, revoked_at=timezone.now())
        make_session(user, expires_at=timezone.now() - timedelta(seconds=1))
        make_session(user, rotated_at=timezone.now())
        r = client.get(SESSIONS, headers=auth(READ_KEY))
        assert r.status_code == 200
        body = r.json()
        assert [s["id"] for s in body["results"]] == [active.id]
        assert body["results"][0]["username"] == "alice" and body["results"][0]["ip"] == "198.51.100.2"
        assert "hash" not in r.content.decode() and active.refresh_token_hash not in r.content.decode()

    def test_read_key_cannot_revoke(self, client, user):
        session = make_session(user)
        r = client.post(f"{SESSIONS}/{session.id}/revoke", headers=auth(READ_KEY))
        assert r.status_code == 403
        assert r.json()["error"]["message"] == "This action needs a security dashboard admin key."
        session.refresh_from_db()
        assert session.revoked_at is None

    def test_admin_revokes_a_session_and_its_refresh_stops_working(self, client, user, bypass):
        issued = start_session(user=user)
        other = start_session(user=user)
        r = client.post(f"{SESSIONS}/{issued.session.id}/revoke", headers=auth(ADMIN_KEY), REMOTE_ADDR="192.0.2.44")
        assert r.status_code == 200 and r.json() == {"revoked": 1}
        issued.session.refresh_from_db()
        assert issued.session.revoked_at is not None
        with pytest.raises(RefreshRefused):
            rotate_refresh_token(raw_token=issued.refresh_token)
        other.session.refresh_from_db()
        assert other.session.revoked_at is None  # scope=session touches one session only
        with bypass():
            audit = DashboardAuditLog.objects.get(action="revoke_session")
        assert (audit.guild_id, audit.actor, audit.target_id, audit.ip) == (
            None,
            ADMIN_ACTOR,
            str(issued.session.id),
            "192.0.2.44",
        )
        event = SecurityEvent.objects.get(kind="admin_action")
        assert ADMIN_ACTOR in event.reason

    def test_revoke_family_and_user(self, client, user, django_user_model):
        first = make_session(user)
        same_family = make_session(user, family=first.family)
        other_family = make_session(user)
        someone_else = make_session(django_user_model.objects.create_user("bob"))
        r = client.post(
            f"{SESSIONS}/{first.id}/revoke",
            {"scope": "family"},
            headers=auth(ADMIN_KEY),
            content_type="application/json",
        )
        assert r.json() == {"revoked": 2}
        r = client.post(
            f"{SESSIONS}/{first.id}/revoke", {"scope": "user"}, headers=auth(ADMIN_KEY), content_type="application/json"
        )
        assert r.json() == {"revoked": 1}
        states = {s.id: s.revoked_at is not None for s in DashboardSession.objects.all()}
        assert states == {first.id: True, same_family.id: True, other_family.id: True, someone_else.id: False}

    def test_bad_scope_is_400_and_changes_nothing(self, client, user):
        session = make_session(user)
        r = client.post(
            f"{SESSIONS}/{session.id}/revoke",
            {"scope": "everyone"},
            headers=auth(ADMIN_KEY),
            content_type="application/json",
        )
        assert r.status_code == 400 and "scope" in r.json()["error"]["fields"]
        session.refresh_from_db()
        assert session.revoked_at is None

    def test_unknown_session_is_404(self, client):
        r = client.post(f"{SESSIONS}/999999/revoke", headers=auth(ADMIN_KEY))
        assert r.status_code == 404
        assert not SecurityEvent.objects.filter(kind="admin_action").exists()


class TestServiceKeys:
    def test_lists_names_and_state_never_keys(self, client):
        r = client.get("/api/v1/security/service-keys", headers=auth(READ_KEY))
        assert r.status_code == 200
        assert r.json() == [{"name": "bot", "scopes": ["bot"], "revoked_at": None}]
        assert BOT_KEY not in r.content.decode()

    def test_admin_revokes_a_service_key(self, client, bypass):
        assert principal_for_key(BOT_KEY).name == "bot"
        r = client.post(
            "/api/v1/security/service-keys/bot/revoke",
            {"reason": "leaked in a screenshot"},
            headers=auth(ADMIN_KEY),
            content_type="application/json",
        )
        assert r.status_code == 201
        row = RevokedServiceKey.objects.get(name="bot")
        assert (row.revoked_by, row.reason) == (ADMIN_ACTOR, "leaked in a screenshot")
        with pytest.raises(ServiceKeyRefused):
            principal_for_key(BOT_KEY)
        with bypass():
            assert (
                DashboardAuditLog.objects.filter(
                    action="revoke_service_key", target_id="bot", guild=None, actor=ADMIN_ACTOR
                ).count()
                == 1
            )
        again = client.post("/api/v1/security/service-keys/bot/revoke", headers=auth(ADMIN_KEY))
        assert again.status_code == 200
        assert RevokedServiceKey.objects.count() == 1

    def test_unknown_name_is_404(self, client):
        r = client.post("/api/v1/security/service-keys/nobody/revoke", headers=auth(ADMIN_KEY))
        assert r.status_code == 404
        assert not RevokedServiceKey.objects.exists()

    def test_read_key_cannot_revoke(self, client):
        r = client.post("/api/v1/security/service-keys/bot/revoke", headers=auth(READ_KEY))
        assert r.status_code == 403
        assert not RevokedServiceKey.objects.exists()


def test_endpoints_are_in_the_openapi_schema_with_their_security_scheme():
    from drf_spectacular.generators import SchemaGenerator

    from tracking import ops_urls

    schema = SchemaGenerator(patterns=ops_urls.urlpatterns).get_schema(request=None, public=True)
    assert schema["components"]["securitySchemes"]["securityDashboardKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A key from SECURITY_DASHBOARD_READ_KEYS (read) or SECURITY_DASHBOARD_ADMIN_KEYS.",
    }
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/security/events", "get"),
        ("/api/v1/security/sessions", "get"),
        ("/api/v1/security/sessions/{session_id}/revoke", "post"),
        ("/api/v1/security/service-keys/{name}/revoke", "post"),
    ]:
        assert paths[path][method]["security"] == [{"securityDashboardKey": []}], path
