"""Concurrent submissions: the database keeps one post per platform id, or per canonical URL while the
id is unknown (short links); whoever loses the race gets what a sequential retry would get."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from core.tenancy import guild_scope
from tests.factories import make_creator, make_post, make_profile
from tracking import submission
from tracking.models import Post
from tracking.platforms import Platform
from tracking.submission_errors import SubmissionRefused

pytestmark = pytest.mark.usefixtures("screenshots_in_tmp")
SHORT_LINK = "https://vm.tiktok.com/ZMabcdef/"


def _race_lost_once(monkeypatch):
    """The duplicate check runs before the other submission commits (what two threads can do)."""
    real, calls = submission._existing, []

    def existing(**kwargs):
        calls.append(1)
        return None if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(submission, "_existing", existing)


@pytest.mark.django_db
def test_the_database_refuses_a_second_pending_post_for_one_short_link(guild, bypass):
    first = make_post(guild, external_id=None, canonical_url=SHORT_LINK, needs_resolution=True)
    with bypass(), pytest.raises(IntegrityError), transaction.atomic():
        make_post(guild, first.profile, external_id=None, canonical_url=SHORT_LINK, needs_resolution=True)


@pytest.mark.django_db
def test_own_submission_that_lost_the_race_answers_with_the_existing_post(submit, monkeypatch, bypass):
    first = submit(SHORT_LINK)
    _race_lost_once(monkeypatch)
    again = submit(SHORT_LINK)
    assert again.created is False and again.post.pk == first.post.pk
    assert again.notes == ["You already submitted this post on 2026-11-20."]
    with bypass():
        assert Post.objects.count() == 1


@pytest.mark.django_db
def test_another_creators_submission_that_lost_the_race_is_a_duplicate(submit, guild, monkeypatch, bypass):
    submit(SHORT_LINK)
    leo = make_creator(guild, username="leo")
    make_profile(guild, leo, platform=Platform.TIKTOK, handle="leo")
    _race_lost_once(monkeypatch)
    with pytest.raises(SubmissionRefused) as caught:
        submit(SHORT_LINK, creator=leo, actor="discord:leo")
    assert (caught.value.code, caught.value.message) == ("duplicate", "Already submitted by @maya on 2026-11-20.")
    with bypass():
        assert Post.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submissions_of_one_short_link_make_one_post(guild, maya, brand, maya_tiktok):
    barrier = threading.Barrier(20)
    results, refusals = [], []

    def worker():
        try:
            barrier.wait()
            with guild_scope(guild.id):
                result = submission.submit_post(
                    guild_id=guild.id, creator=maya, url=SHORT_LINK, client_account_id=brand.id, actor="discord:maya"
                )
            results.append(result)
        except SubmissionRefused as exc:
            refusals.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refusals == []
    assert sorted(r.created for r in results) == [False] * 19 + [True]
    assert len({r.post.pk for r in results}) == 1
    with guild_scope(guild.id):
        assert Post.objects.filter(canonical_url=SHORT_LINK).count() == 1
