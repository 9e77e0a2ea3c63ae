"""Daily rollups: ingestion keeps them equal to what a rebuild from the snapshots gives (each post's
newest snapshot with views of each UTC day), on random histories — datasets out of order, the same
moment re-ingested, counts going down, a day's first measurement after midnight — and
``manage.py rebuild_rollups`` is idempotent and scoped."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from core.tenancy import guild_scope
from integrations.apify.normalize import normalize_item
from metrics.ingestion import ingest_items
from metrics.models import PostDailyRollup, VideoMetrics
from metrics.rollups import rebuild_rollups
from tests.factories import make_guild
from tests.helpers.apify import make_posts, tiktok_item

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)  # datasets spread over four UTC days from here


def _rollups(bypass, guild=None) -> set[tuple]:
    with bypass():
        rows = PostDailyRollup.objects.all() if guild is None else PostDailyRollup.objects.filter(guild=guild)
        return set(rows.values_list("post_id", "day", "captured_at", "views", "likes", "comments", "shares"))


def _expected(bypass, guild) -> set[tuple]:
    """The rule, from the snapshots, in Python."""
    newest: dict[tuple, VideoMetrics] = {}
    with bypass():
        for s in VideoMetrics.objects.filter(guild=guild, views__isnull=False):
            key = (s.post_id, s.captured_at.astimezone(UTC).date())
            if key not in newest or s.captured_at > newest[key].captured_at:
                newest[key] = s
    return {(p, d, s.captured_at, s.views, s.likes, s.comments, s.shares) for (p, d), s in newest.items()}


def _random_ingests(guild, rng, posts) -> None:
    moments = sorted({T0 + timedelta(minutes=rng.randrange(0, 4 * 24 * 60, 7)) for _ in range(14)})
    rng.shuffle(moments)  # datasets arrive out of order
    moments += rng.sample(moments, 3)  # and some moments are processed again, with other numbers
    for at in moments:
        chosen = rng.sample(posts, rng.randint(1, len(posts)))
        items = [
            normalize_item(
                platform="tiktok",
                item=tiktok_item(p, views=rng.randint(0, 90_000), likes=rng.randint(0, 900), shares=rng.randint(0, 9)),
            )
            for p in chosen
        ]
        ingest_items(guild_id=guild.id, platform="tiktok", items=items, captured_at=at, provider="apify", run_id="r1")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_ingestion_keeps_rollups_equal_to_a_rebuild(guild, bypass, seed):
    rng = random.Random(seed)
    posts = make_posts(guild, 5)
    _random_ingests(guild, rng, posts)
    expected = _expected(bypass, guild)
    assert len({d for _, d, *_ in expected}) >= 3  # the history really spans several days
    assert _rollups(bypass, guild) == expected
    with guild_scope(guild.pk):
        written = rebuild_rollups(guild_id=guild.pk)
    assert written == len(expected) and _rollups(bypass, guild) == expected


def test_rebuild_command_is_idempotent_and_scoped(guild, bypass, capsys):
    other = make_guild()
    mine, theirs = make_posts(guild, 2), make_posts(other, 2)
    rng = random.Random(9)
    _random_ingests(guild, rng, mine)
    _random_ingests(other, rng, theirs)
    want_mine, want_theirs = _expected(bypass, guild), _expected(bypass, other)
    with bypass():
        PostDailyRollup.objects.all().delete()
    call_command("rebuild_rollups", "--guild", str(guild.pk))
    assert f"{len(want_mine)} rollup rows written." in capsys.readouterr().out
    assert _rollups(bypass) == want_mine  # the other guild untouched
    call_command("rebuild_rollups")
    call_command("rebuild_rollups")
    assert _rollups(bypass) == want_mine | want_theirs
    with pytest.raises(CommandError, match="No guild with id 1399999999999999999"):
        call_command("rebuild_rollups", "--guild", "1399999999999999999")
