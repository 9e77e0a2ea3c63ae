"""Access tokens, refresh rotation and reuse detection, logout, sessions, CSRF, the Django-view helpers."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
import responses
import time_machine
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from dashboard_auth.auth import dashboard_login_required, dashboard_user_from_request, guilds_for
from dashboard_auth.models import DashboardSession, SecurityEvent
from dashboard_auth.sessions import start_session
from dashboard_auth.tokens import issue_access_token
from tests.helpers.api import ADMINISTRATOR, MANAGE_GUILD, grant, login, make_dashboard_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]
GUILDS_URL = "https://discord.com/api/v10/users/@me/guilds"


@pytest.fixture
def user(guild):
    user = make_dashboard_user()
    grant(user, {guild: ADMINISTRATOR})
    return user


def _discord_guilds(rsps, guild, *, status=200, permissions=0x8):
    body = [{"id": str(guild.pk), "name": guild.name, "icon": None, "owner": False, "permissions": str(permissions)}]
    rsps.add(responses.GET, GUILDS_URL, status=status, json=body if status == 200 else {"message": "x", "code": 0})


def _me(client, **headers):
    return client.get("/api/v1/auth/me", **headers)


# --- access tokens ---------------------------------------------------------------------------


def test_bearer_and_cookie_both_authenticate(user):
    assert _me(login(Client(), user, bearer=True)).status_code == 200
    assert _me(login(Client(), user)).status_code == 200


def test_no_token_is_401_with_the_error_shape():
    r = _me(Client())
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"
    assert set(r.json()["error"]) == {"code", "message", "fields"}


def test_expired_token_is_refused(user):
    client = login(Client(), user, bearer=True)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.JWT_ACCESS_TTL_SECONDS + 5)):
        r = _me(client)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_expired"


def test_tampered_token_is_refused(user):
    token = start_session(user=user).access_token
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "999"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = _me(Client(), HTTP_AUTHORIZATION=f"Bearer {header}.{forged}.{signature}")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize("algorithm", ["none", "HS512"])
def test_other_algorithms_are_refused(user, algorithm):
    session = start_session(user=user).session
    claims = {
        "sub": str(user.pk),
        "sid": str(session.pk),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "iat": int(timezone.now().timestamp()),
        "exp": int(timezone.now().timestamp()) + 600,
    }
    key = None if algorithm == "none" else settings.JWT_SECRET
    token = jwt.encode(claims, key, algorithm=algorithm)
    if algorithm == "none":
        token = token if token.count(".") == 2 else token + "."
    r = _me(Client(), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 401


def test_token_for_another_audience_is_refused(user):
    session = start_session(user=user).session
    claims = {
        "sub": str(user.pk),
        "sid": str(session.pk),
        "iss": settings.JWT_ISSUER,
        "aud": "someone-else",
        "iat": int(timezone.now().timestamp()),
        "exp": int(timezone.now().timestamp()) + 600,
    }
    token = jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256")
    assert _me(Client(), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_revoked_session_access_token_stops_working(user):
    client = login(Client(), user, bearer=True)
    assert _me(client).status_code == 200
    DashboardSession.objects.update(revoked_at=timezone.now())
    r = _me(client)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "session_revoked"


# --- refresh ---------------------------------------------------------------------------------


def test_refresh_rotates_within_the_family(user, guild):
    client = login(Client(), user)
    old_refresh = client.cookies["dashboard_rt"].value
    with responses.RequestsMock() as rsps:
        _discord_guilds(rsps, guild)
        r = client.post("/api/v1/auth/refresh")
    assert r.status_code == 200
    assert r.json()["token_type"] == "Bearer"
    assert r.cookies["dashboard_rt"].value != old_refresh
    rows = list(DashboardSession.objects.order_by("pk"))
    assert len(rows) == 2 and rows[0].family == rows[1].family
    assert rows[0].rotated_at is not None and rows[1].rotated_at is None
    assert _me(client).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_family_and_alerts(user, guild):
    client = login(Client(), user)
    stolen = client.cookies["dashboard_rt"].value
    with responses.RequestsMock() as rsps:
        _discord_guilds(rsps, guild)
        assert client.post("/api/v1/auth/refresh").status_code == 200
    attacker = Client()
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.REFRESH_REUSE_GRACE_SECONDS + 1)):
        r = attacker.post("/api/v1/auth/refresh", {"refresh_token": stolen}, content_type="application/json")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "refresh_reused"
    assert DashboardSession.objects.filter(revoked_at__isnull=True).count() == 0
    assert SecurityEvent.objects.filter(kind="refresh_reuse").count() == 1
    # the legitimate holder's new tokens are dead too
    assert _me(client).status_code == 401
    assert client.post("/api/v1/auth/refresh").status_code == 401


def test_two_tabs_refreshing_one_token_get_the_same_pair_and_stay_logged_in(user, guild):
    tab = login(Client(), user)
    token = tab.cookies["dashboard_rt"].value
    other_tab = Client()
    other_tab.cookies["dashboard_rt"] = token
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _discord_guilds(rsps, guild)
        first = tab.post("/api/v1/auth/refresh")
        second = other_tab.post("/api/v1/auth/refresh")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.cookies["dashboard_rt"].value == first.cookies["dashboard_rt"].value
    assert second.cookies["dashboard_at"].value == first.cookies["dashboard_at"].value
    assert first.json()["access_token"] == second.json()["access_token"]
    assert SecurityEvent.objects.filter(kind="refresh_reuse").count() == 0
    assert DashboardSession.objects.filter(revoked_at__isnull=True).count() == 2
    assert _me(tab).status_code == 200 and _me(other_tab).status_code == 200


def test_the_same_token_after_the_grace_is_reuse_and_ends_the_login(user, guild):
    tab = login(Client(), user)
    token = tab.cookies["dashboard_rt"].value
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _discord_guilds(rsps, guild)
        assert tab.post("/api/v1/auth/refresh").status_code == 200
        body = {"refresh_token": token}
        assert Client().post("/api/v1/auth/refresh", body, content_type="application/json").status_code == 200
        later = timezone.now() + timedelta(seconds=settings.REFRESH_REUSE_GRACE_SECONDS + 1)
        with time_machine.travel(later):
            r = Client().post("/api/v1/auth/refresh", body, content_type="application/json")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "refresh_reused"
    assert DashboardSession.objects.filter(revoked_at__isnull=True).count() == 0
    assert SecurityEvent.objects.filter(kind="refresh_reuse").count() == 1


def test_the_grace_does_not_cover_a_token_whose_successor_already_rotated(user, guild):
    tab = login(Client(), user)
    token = tab.cookies["dashboard_rt"].value
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _discord_guilds(rsps, guild)
        assert tab.post("/api/v1/auth/refresh").status_code == 200
        assert tab.post("/api/v1/auth/refresh").status_code == 200
        body = {"refresh_token": token}
        r = Client().post("/api/v1/auth/refresh", body, content_type="application/json")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "refresh_reused"
    assert DashboardSession.objects.filter(revoked_at__isnull=True).count() == 0


def test_refresh_keeps_cached_guilds_when_discord_fails_transiently(user, guild):
    client = login(Client(), user)
    with responses.RequestsMock() as rsps:
        _discord_guilds(rsps, guild, status=502)
        assert client.post("/api/v1/auth/refresh").status_code == 200
    assert [g["name"] for g in _me(client).json()["guilds"]] == [guild.name]


def test_refresh_updates_guilds_from_discord(user, guild):
    client = login(Client(), user)
    with responses.RequestsMock() as rsps:
        _discord_guilds(rsps, guild, permissions=MANAGE_GUILD)
        assert client.post("/api/v1/auth/refresh").status_code == 200
    assert _me(client).json()["guilds"][0]["can_admin"] is False


def test_refresh_ends_the_session_when_discord_revoked_the_token(user, guild):
    client = login(Client(), user)
    with responses.RequestsMock() as rsps:
        _discord_guilds(rsps, guild, status=401)
        r = client.post("/api/v1/auth/refresh")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "refresh_discord_revoked"
    assert DashboardSession.objects.filter(revoked_at__isnull=True).count() == 0


def test_refresh_with_unknown_or_missing_token_is_401():
    assert Client().post("/api/v1/auth/refresh").json()["error"]["code"] == "refresh_missing"
    r = Client().post("/api/v1/auth/refresh", {"refresh_token": "nope"}, content_type="application/json")
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_invalid"


def test_expired_refresh_token_is_refused(user):
    client = login(Client(), user)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.REFRESH_TOKEN_TTL_SECONDS + 5)):
        r = client.post("/api/v1/auth/refresh")
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_expired"


def test_refresh_is_rate_limited(settings, user):
    settings.RATE_LIMIT_REFRESH = "1/m"
    client = Client()
    assert client.post("/api/v1/auth/refresh").status_code == 401
    r = client.post("/api/v1/auth/refresh")
    assert r.status_code == 429
    assert int(r["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"


# --- logout and sessions ---------------------------------------------------------------------


def test_logout_revokes_and_clears_cookies(user):
    client = login(Client(), user)
    r = client.post("/api/v1/auth/logout")
    assert r.status_code == 204
    assert r.cookies["dashboard_at"].value == "" and r.cookies["dashboard_rt"].value == ""
    assert DashboardSession.objects.get().revoke_reason == "logout"
    stale = login(Client(), user, bearer=True)
    stale.defaults["HTTP_AUTHORIZATION"] = f"Bearer {client.issued.access_token}"
    assert _me(stale).status_code == 401


def test_sessions_list_and_revoke_only_mine(user):
    mine = login(Client(), user, bearer=True)
    other_device = start_session(user=user)
    someone = make_dashboard_user(username="bob", discord_id="80351110224678999")
    theirs = start_session(user=someone).session
    listed = mine.get("/api/v1/auth/sessions").json()
    assert {s["id"] for s in listed} == {mine.issued.session.pk, other_device.session.pk}
    assert [s["current"] for s in listed if s["id"] == mine.issued.session.pk] == [True]
    assert mine.delete(f"/api/v1/auth/sessions/{theirs.pk}").status_code == 404
    assert DashboardSession.objects.get(pk=theirs.pk).revoked_at is None
    assert mine.delete(f"/api/v1/auth/sessions/{other_device.session.pk}").status_code == 204
    assert DashboardSession.objects.get(pk=other_device.session.pk).revoked_at is not None


def test_cookie_requests_that_change_things_need_csrf(user):
    client = login(Client(enforce_csrf_checks=True), user)
    r = client.post("/api/v1/auth/logout")
    assert r.status_code == 403
    assert "CSRF" in r.json()["error"]["message"]
    client.cookies["csrftoken"] = "a" * 32
    assert client.post("/api/v1/auth/logout", HTTP_X_CSRFTOKEN="a" * 32).status_code == 204


def test_bearer_requests_are_csrf_exempt(user):
    client = login(Client(enforce_csrf_checks=True), user, bearer=True)
    assert client.post("/api/v1/auth/logout").status_code == 204


# --- plain Django views ----------------------------------------------------------------------


def _page(request):
    return HttpResponse(f"hello {request.dashboard_user.username}")


def test_login_required_redirects_anonymous_to_home():
    request = RequestFactory().get("/dashboard/")
    response = dashboard_login_required(_page)(request)
    assert response.status_code == 302 and response["Location"] == "/"


def test_login_required_accepts_the_access_cookie(user, guild):
    issued = start_session(user=user)
    request = RequestFactory().get("/dashboard/")
    request.COOKIES[settings.DASHBOARD_ACCESS_COOKIE_NAME] = issued.access_token
    response = dashboard_login_required(_page)(request)
    assert response.content == b"hello alice"
    identity = dashboard_user_from_request(request)
    assert [g.guild_id for g in guilds_for(identity)] == [guild.pk]


def test_login_required_refreshes_an_expired_access_token_on_get(user, guild):
    issued = start_session(user=user)
    request = RequestFactory().get("/dashboard/")
    request.COOKIES[settings.DASHBOARD_REFRESH_COOKIE_NAME] = issued.refresh_token
    request.COOKIES[settings.DASHBOARD_ACCESS_COOKIE_NAME] = issue_access_token(
        user_id=user.pk,
        session_id=issued.session.pk,
        discord_id="1",
        username="alice",
        now=timezone.now() - timedelta(hours=1),
    )
    with responses.RequestsMock() as rsps:
        _discord_guilds(rsps, guild)
        response = dashboard_login_required(_page)(request)
    assert response.status_code == 200
    assert response.cookies[settings.DASHBOARD_ACCESS_COOKIE_NAME].value
