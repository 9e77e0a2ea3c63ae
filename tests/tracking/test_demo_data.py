"""The demo command is idempotent: twice leaves the same rows."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from core.tenancy import rls_bypass
from guilds.models import Creator, Guild
from metrics.models import VideoMetrics
from tracking.models import Post, Profile
from tracking.platforms import Platform

pytestmark = pytest.mark.django_db


def _counts():
    with rls_bypass(reason="test"):
        return {m.__name__: m.objects.count() for m in (Guild, Creator, Profile, Post, VideoMetrics)}


def test_demo_data_twice_leaves_the_same_row_counts():
    out = io.StringIO()
    call_command("load_demo_data", "--force", stdout=out)
    first = _counts()
    call_command("load_demo_data", "--force", stdout=io.StringIO())
    assert _counts() == first
    assert first["Guild"] == 1 and first["Post"] >= 25 and first["VideoMetrics"] > 1000
    assert "Staff login: admin / " in out.getvalue()
    assert get_user_model().objects.get(username="admin").is_staff


def test_demo_data_covers_every_platform_with_verified_profiles():
    call_command("load_demo_data", "--no-staff", "--force", stdout=io.StringIO())
    with rls_bypass(reason="test"):
        verified = set(Profile.objects.filter(verification_status="verified").values_list("platform", flat=True))
        assert verified == set(Platform.values)
        assert not Post.objects.filter(views__isnull=True).exists()
