"""Daily report and weekly bonus numbers on a hand-computed fixture in Europe/Paris (UTC+1 in November).

The week awarded is Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00 Paris time. Snapshots sit
at Sunday 23:00 and Monday 01:00 local on both edges, so only the as-of values count:

- alice's post: 1000 at Sun 15 23:00 (as-of at the start), 1200 at Mon 16 01:00, 6000 at Sun 22 23:00
  (as-of at the end), 9000 at Mon 23 01:00 (next week) → gained 6000 - 1000 = 5000
- bob's post (went up Wed 18): 400 at Wed 18 12:00, 2400 at Sun 22 23:00 → gained 2400
- carol's post: 100 at Sun 15 23:00, 150 at Mon 23 01:00 only → as-of end is 100 → gained 0
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from core.tenancy import guild_scope
from guilds.models import BonusRule, Guild, GuildNotification
from metrics.bonuses import WeekNotOver, award_week, award_weekly_bonuses, week_bounds
from metrics.models import BonusAward
from metrics.reports import queue_daily_report, queue_daily_reports
from metrics.selectors import leaderboard
from tests.factories import make_bonus_rule, make_creator, make_guild, make_post, make_profile, make_snapshot
from tracking.lifecycle import transition_post
from tracking.models import Post
from tracking.review import review_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("discord_settings")]
PARIS = ZoneInfo("Europe/Paris")
WEEK = date(2026, 11, 16)


def local(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def world():
    guild = make_guild(
        timezone="Europe/Paris", updates_webhook_url="https://discord.com/api/webhooks/1/x", daily_report_hour=9
    )
    posts = {}
    for name, posted, points in (
        (
            "alice",
            local(1, 12),
            [(local(15, 23), 1000), (local(16, 1), 1200), (local(22, 23), 6000), (local(23, 1), 9000)],
        ),
        ("bob", local(18, 10), [(local(18, 12), 400), (local(22, 23), 2400)]),
        ("carol", local(2, 12), [(local(15, 23), 100), (local(23, 1), 150)]),
    ):
        creator = make_creator(guild, username=name)
        post = make_post(guild, make_profile(guild, creator), posted_at=posted, submitted_at=posted)
        for at, views in points:
            make_snapshot(post, views=views, at=at)
        with guild_scope(guild.pk):
            Post.objects.filter(pk=post.pk).update(metrics_updated_at=points[-1][0])
        posts[name] = (creator, post)
    return guild, posts


def test_week_bounds_are_local_mondays():
    start, end = week_bounds(week_start=date(2026, 11, 19), tz=PARIS)
    assert (start, end) == (local(16, 0), local(23, 0))
    assert start.astimezone(UTC) == datetime(2026, 11, 15, 23, tzinfo=UTC)


def test_the_selector_gives_the_hand_computed_gains(world):
    guild, posts = world
    start, end = week_bounds(week_start=WEEK, tz=PARIS)
    with guild_scope(guild.pk):
        board = leaderboard(guild=guild, start=start, end=end)
    assert [(c.creator_name, c.views_gained, c.rank) for c in board.creators] == [
        ("alice", 5000, 1),
        ("bob", 2400, 2),
        ("carol", 0, 3),
    ]


def test_bonuses_follow_the_rules_and_rerunning_changes_nothing(world, bypass):
    guild, posts = world
    make_bonus_rule(guild, name="5k club", kind=BonusRule.Kind.THRESHOLD, min_views_gained=2400, amount=10)
    make_bonus_rule(guild, name="Winner", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=1, amount=50)
    make_bonus_rule(guild, name="Third", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=3, amount=5)
    make_bonus_rule(guild, name="Off", min_views_gained=1, amount=99, active=False)
    now = local(23, 9)
    outcome = award_week(guild_id=guild.pk, week_start=WEEK, now=now)
    assert (outcome.created, outcome.announced) == (3, 3)
    with bypass():
        awards = sorted(
            BonusAward.objects.filter(guild=guild).values_list(
                "creator__username", "rule__name", "views_gained", "amount"
            )
        )
        notes = list(GuildNotification.objects.filter(guild=guild, kind="bonus").values_list("channel", "body"))
    assert [(a, r, v, str(m)) for a, r, v, m in awards] == [
        ("alice", "5k club", 5000, "10.00"),
        ("alice", "Winner", 5000, "50.00"),
        ("bob", "5k club", 2400, "10.00"),
    ]
    assert len(notes) == 1 and notes[0][0] == "updates"
    assert notes[0][1].count("\n") == 2 and "<@" in notes[0][1]

    again = award_week(guild_id=guild.pk, week_start=WEEK, now=now + timedelta(hours=1))
    assert (again.created, again.announced) == (0, 0)
    with bypass():
        assert BonusAward.objects.filter(guild=guild).count() == 3
        assert GuildNotification.objects.filter(guild=guild, kind="bonus").count() == 1


def test_held_posts_win_no_bonus_until_released_and_a_place_is_given_once(world, bypass):
    # alice's post is flagged for review: for bonuses she gained nothing, so bob (2400) is first.
    guild, posts = world
    make_bonus_rule(guild, name="5k club", kind=BonusRule.Kind.THRESHOLD, min_views_gained=2400, amount=10)
    make_bonus_rule(guild, name="Winner", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=1, amount=50)
    alice_post = posts["alice"][1]
    with guild_scope(guild.pk):
        transition_post(post=alice_post, to_status=Post.Status.FLAGGED, reason="Views spiked without engagement")
        start, end = week_bounds(week_start=WEEK, tz=PARIS)
        assert leaderboard(guild=guild, start=start, end=end).creators[0].creator_name == "alice"  # the board shows it
    outcome = award_week(guild_id=guild.pk, week_start=WEEK, now=local(23, 9))
    assert sorted((a.creator_name, a.rule_name, a.views_gained) for a in outcome.awards) == [
        ("bob", "5k club", 2400),
        ("bob", "Winner", 2400),
    ]
    with bypass():
        note = GuildNotification.objects.get(guild=guild, kind="bonus").body
    assert "alice" not in note and note.count("\n") == 1  # two awards announced, none for the held post

    # A reviewer releases the post; rerunning the week adds the threshold award she now reaches, but
    # the first place stays bob's (a place is given once).
    with guild_scope(guild.pk):
        review_post(post=alice_post, action="approve", reason="checked", actor="staff:ana")
    again = award_week(guild_id=guild.pk, week_start=WEEK, now=local(24, 9))
    assert again.created == 1
    with bypass():
        awards = sorted(BonusAward.objects.filter(guild=guild).values_list("creator__username", "rule__name", "place"))
    # place = the rank when awarded: bob was first in the first run, alice first in the rerun
    assert awards == [("alice", "5k club", 1), ("bob", "5k club", 1), ("bob", "Winner", 1)]


def test_default_week_is_the_last_complete_local_week(world, bypass):
    guild, posts = world
    make_bonus_rule(guild, name="Winner", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=1, amount=50)
    # Monday 23 Nov 00:30 Paris is still Sunday 23:30 UTC: the Paris week has ended, UTC's has not.
    outcomes = award_weekly_bonuses(now=local(23, 0, 30), guild_id=guild.pk)
    assert [o.week_start for o in outcomes] == [WEEK]
    with bypass():
        assert list(BonusAward.objects.filter(guild=guild).values_list("creator__username", flat=True)) == ["alice"]


def test_a_week_that_is_not_over_is_refused(world):
    guild, _ = world
    with pytest.raises(WeekNotOver):
        award_week(guild_id=guild.pk, week_start=WEEK, now=local(22, 23, 59))


def test_dry_run_writes_nothing(world, bypass):
    guild, _ = world
    make_bonus_rule(guild, name="Winner", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=1, amount=50)
    outcome = award_week(guild_id=guild.pk, week_start=WEEK, now=local(23, 9), dry_run=True)
    assert [(a.creator_name, a.views_gained) for a in outcome.awards] == [("alice", 5000)]
    with bypass():
        assert not BonusAward.objects.exists()


def test_award_command_prints_and_refuses_bad_weeks(world, capsys):
    guild, _ = world
    make_bonus_rule(guild, name="Winner", kind=BonusRule.Kind.TOP_N, min_views_gained=None, place=1, amount=50)
    call_command("award_weekly_bonuses", "--guild", str(guild.pk), "--week", "2026-11-18", "--dry-run")
    assert "alice: Winner 50.00 USD (5000 views, #1)" in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--week must be a date"):
        call_command("award_weekly_bonuses", "--week", "last monday")
    with pytest.raises(CommandError, match="not over yet"):
        call_command("award_weekly_bonuses", "--week", "2999-01-04")


# --- daily report ---------------------------------------------------------------------------------


def test_daily_report_numbers_and_once_per_local_day(world, bypass):
    guild, posts = world
    # Monday 23 Nov 09:10 Paris: the report covers Sunday 22 Nov, local.
    # alice: as-of Sun 00:00 = 1200 (Mon 16 01:00), as-of Mon 00:00 = 6000 → 4800; bob: 400 → 2400 = 2000;
    # carol: 100 → 100 = 0.
    outcome = queue_daily_report(guild_id=guild.pk, now=local(23, 9, 10))
    assert outcome.status == "queued"
    report = outcome.report
    assert report.day == date(2026, 11, 22)
    assert report.views_gained == 6800
    assert [(p.creator_name, p.views_gained) for p in report.top_posts] == [("alice", 4800), ("bob", 2000)]
    assert [c.creator_name for c in report.top_creators] == ["alice", "bob"]
    assert report.new_submissions == 0
    assert "**Views gained:** 6,800" in report.body
    with bypass():
        note = GuildNotification.objects.get(guild=guild, kind="daily_report")
        assert Guild.objects.get(pk=guild.pk).last_daily_report_on == date(2026, 11, 23)
    assert (note.channel, note.event_key, note.title) == (
        "updates",
        "daily_report:2026-11-22",
        "Daily report — Sunday 22 November 2026",
    )
    assert queue_daily_report(guild_id=guild.pk, now=local(23, 18)).status == "already_queued"  # not sent yet


def test_daily_report_waits_for_the_local_hour(world):
    guild, _ = world
    # 08:30 UTC is 09:30 in Paris, but 07:59 Paris is not yet the report hour
    assert queue_daily_report(guild_id=guild.pk, now=local(23, 7, 59)).status == "not_due"
    assert [o.status for o in queue_daily_reports(guild_id=guild.pk, now=local(23, 9))] == ["queued"]


def test_daily_report_counts_new_submissions_of_the_local_day(world):
    guild, posts = world
    make_post(guild, submitted_at=local(22, 0, 30))  # Sunday 00:30 Paris = Saturday 23:30 UTC
    make_post(guild, submitted_at=local(21, 23, 30))  # Saturday local: not counted
    assert queue_daily_report(guild_id=guild.pk, now=local(23, 10), dry_run=True).report.new_submissions == 1


def test_report_command_dry_run_and_force(world, capsys, bypass):
    guild, _ = world
    call_command("send_daily_reports", "--guild", str(guild.pk), "--dry-run", "--force")
    out = capsys.readouterr().out
    assert f"guild {guild.pk}: dry run" in out and "Daily report" in out
    with bypass():
        assert not GuildNotification.objects.exists()
