"""Staff password logins: a few wrong passwords lock the address and the user name out (django-axes),
each lockout is a security event with an alert, time or staff unlock it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from dashboard_auth.models import SecurityEvent

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"


@pytest.fixture
def staff(django_user_model, settings):
    settings.AXES_FAILURE_LIMIT = 3
    return django_user_model.objects.create_user("alice", password="right-password", is_staff=True)


def attempt(client, password, username="alice"):
    return client.post(LOGIN, {"username": username, "password": password})


def test_a_few_wrong_passwords_lock_the_address_out_with_a_reason(staff):
    client = Client(REMOTE_ADDR="203.0.113.9")
    codes = [attempt(client, f"guess-{i}").status_code for i in range(4)]
    assert codes == [200, 200, 429, 429]  # the third failure locks; the form re-renders before that
    locked = attempt(client, "right-password")
    assert locked.status_code == 429 and b"locked for 15 minutes" in locked.content
    assert int(locked["Retry-After"]) == 15 * 60
    event = SecurityEvent.objects.get(kind="admin_lockout")
    assert event.ip == "203.0.113.9" and "alice" in event.reason


def test_the_user_name_is_locked_from_another_address_too(staff):
    for i in range(3):
        attempt(Client(REMOTE_ADDR=f"203.0.113.{i + 1}"), "wrong")
    assert attempt(Client(REMOTE_ADDR="198.51.100.7"), "right-password").status_code == 429


def test_the_lockout_ends_by_itself(staff):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        attempt(client, "wrong")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = attempt(client, "right-password")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_staff_can_unlock_sooner(staff):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        attempt(client, "wrong")
    AccessAttempt.objects.all().delete()  # what "delete" in admin → Axes → Access attempts does
    assert attempt(client, "right-password").status_code == 302


def test_a_login_without_next_lands_in_the_admin(staff):
    response = attempt(Client(REMOTE_ADDR="203.0.113.9"), "right-password")
    assert response.status_code == 302 and response["Location"] == "/admin/"
