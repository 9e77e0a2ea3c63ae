"""metrics.selectors.total_gains answers, in one query, what the leaderboard's total says for each
window — on random histories: counting windows, posts first seen mid-period, counts going down."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.tenancy import guild_scope
from metrics.selectors import leaderboard, total_gains
from tests.factories import make_client_account, make_creator, make_post, make_profile, make_snapshot

pytestmark = pytest.mark.django_db


def random_history(guild, rng, now, posts=25):
    client, profile = make_client_account(guild), make_profile(guild, make_creator(guild))
    for _ in range(posts):
        went_up = now - timedelta(hours=rng.randint(1, 24 * 12))
        post = make_post(
            guild,
            profile,
            client_account=client,
            posted_at=rng.choice([went_up, None]),
            submitted_at=went_up + timedelta(hours=rng.randint(0, 48)),
            counting_ends_at=rng.choice([None, None, went_up + timedelta(hours=rng.randint(1, 24 * 6))]),
            status=rng.choice(["tracking", "tracking", "finalized", "rejected"]),
            metrics_updated_at=now - timedelta(minutes=1),
        )
        views = rng.randint(0, 2_000)
        first_seen = rng.randint(0, 24 * 10)  # hours after it went up: old posts first seen mid-period
        for hour in sorted(rng.sample(range(first_seen, first_seen + 24 * 6), rng.randint(1, 12))):
            at = went_up + timedelta(hours=hour, minutes=rng.randint(0, 59))
            if at >= now:
                break
            views = max(0, views + rng.randint(-300, 3_000))  # counts sometimes go down
            make_snapshot(post, views=views, at=at)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_total_gains_equal_the_leaderboard_totals(guild, seed):
    rng = random.Random(seed)
    now = timezone.now()
    random_history(guild, rng, now)
    windows = [(now - timedelta(days=k + 1), now - timedelta(days=k)) for k in range(10)]
    windows += [(now - timedelta(hours=rng.randint(2, 24 * 12)), now - timedelta(hours=rng.randint(0, 1)))]
    with guild_scope(guild.pk):
        expected = [leaderboard(guild=guild, start=s, end=e).total_views_gained for s, e in windows]
        with CaptureQueriesContext(connection) as ctx:
            got = total_gains(guild=guild, windows=windows)
    assert got == expected
    assert sum(expected) > 0
    assert len(ctx.captured_queries) == 1
