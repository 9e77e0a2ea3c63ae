"""The single-row rules live in the database, so no code path can break them."""

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from guilds.models import GuildApiUsage
from metrics.models import VideoMetrics
from tests.factories import make_creator, make_guild, make_post, make_profile, make_snapshot
from tracking.models import Post, Profile

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _as_staff(db):
    """These tests are about constraints, not tenancy: they look across guilds."""
    from core.tenancy import rls_bypass

    with rls_bypass(reason="constraint tests"):
        yield


def _refused(fn) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_a_post_is_unique_per_guild_platform_and_post_id(guild):
    post = make_post(guild, external_id="7000000000000000001")
    _refused(lambda: make_post(guild, external_id="7000000000000000001"))
    assert Post.objects.filter(external_id=post.external_id).count() == 1


def test_the_same_post_id_may_be_tracked_by_another_guild(guild, other_guild):
    make_post(guild, external_id="7000000000000000001")
    make_post(other_guild, external_id="7000000000000000001")
    assert Post.objects.filter(external_id="7000000000000000001").count() == 2


def test_posts_waiting_for_resolution_do_not_collide(guild):
    make_post(guild, external_id=None)
    make_post(guild, external_id=None)
    assert Post.objects.filter(external_id__isnull=True).count() == 2


def test_a_profile_is_unique_per_guild_platform_and_handle(guild):
    make_profile(guild, platform="tiktok", handle="maya")
    _refused(lambda: make_profile(guild, platform="tiktok", handle="maya"))
    make_profile(guild, platform="instagram", handle="maya")
    assert Profile.objects.filter(handle="maya").count() == 2


def test_usage_is_one_row_per_guild_and_day(guild):
    GuildApiUsage.objects.create(guild=guild, day=date(2026, 11, 1))
    _refused(lambda: GuildApiUsage.objects.create(guild=guild, day=date(2026, 11, 1)))


@pytest.mark.parametrize("field", ["apify_run_count", "youtube_quota_used", "openai_call_count", "openai_tokens_used"])
def test_usage_counts_are_never_negative(guild, field):
    _refused(lambda: GuildApiUsage.objects.create(guild=guild, day=date(2026, 11, 2), **{field: -1}))


def test_a_snapshot_is_unique_per_post_and_time(guild):
    post = make_post(guild)
    snap = make_snapshot(post, views=10)
    _refused(lambda: make_snapshot(post, views=11, at=snap.captured_at))
    assert VideoMetrics.objects.filter(post=post).count() == 1


@pytest.mark.parametrize("field", ["views", "likes", "comments", "shares"])
def test_snapshot_counts_are_never_negative(guild, field):
    post = make_post(guild)
    _refused(
        lambda: (
            make_snapshot(post, views=1, **({field: -5} if field != "views" else {}))
            if field != "views"
            else make_snapshot(post, views=-5)
        )
    )


def test_creators_are_unique_per_guild(guild):
    make_creator(guild, discord_user_id="1200000000000000999")
    _refused(lambda: make_creator(guild, discord_user_id="1200000000000000999"))
    make_creator(make_guild(), discord_user_id="1200000000000000999")


def test_every_model_has_a_docstring_and_a_useful_str(guild):
    from django.apps import apps

    post = make_post(guild)
    for model in apps.get_app_config("tracking").get_models():
        assert model.__doc__ and not model.__doc__.startswith(model.__name__ + "("), model
    assert str(post).startswith("TikTok ")
    assert "Guild" in str(guild)
