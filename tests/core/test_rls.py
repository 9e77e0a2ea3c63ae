"""Row-level security proves tenancy on PostgreSQL: a forgotten filter returns nothing.

These tests run as the restricted role (tests/conftest.py asserts it is neither superuser nor
BYPASSRLS), so they cannot pass vacuously.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.rls import APPEND_ONLY_TABLES, guild_tables, rls_problems
from core.tenancy import guild_scope, rls_bypass
from guilds.models import (
    BonusRule,
    BotCallback,
    Creator,
    CreatorMessage,
    DashboardAuditLog,
    Guild,
    GuildApiUsage,
    GuildBudgetConfig,
    GuildNotification,
)
from integrations.models import ApifyRunRegistry
from metrics.models import BonusAward, VideoMetrics
from tests.factories import make_bonus_rule, make_guild, make_post, make_snapshot
from tracking.models import ClientAccount, FraudSignal, Post, PostStatusChange, Profile, ScreenshotUpload

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _one_of_everything(guild: Guild) -> dict[type, object]:
    """A row in every guild table for ``guild`` (written through the logged bypass)."""
    post = make_post(guild)
    snap = make_snapshot(post, views=100)
    rule = make_bonus_rule(guild)
    now = timezone.now()
    with rls_bypass(reason="test setup"):
        rows = {
            Guild: guild,
            GuildBudgetConfig: GuildBudgetConfig.objects.get(guild=guild),
            GuildApiUsage: GuildApiUsage.objects.create(guild=guild, day=date(2026, 11, 1)),
            Creator: post.creator,
            Profile: post.profile,
            ClientAccount: post.client_account,
            Post: post,
            VideoMetrics: snap,
            BonusRule: rule,
            PostStatusChange: PostStatusChange.objects.create(guild=guild, post=post, to_status="tracking", actor="t"),
            ScreenshotUpload: ScreenshotUpload.objects.create(
                guild=guild, post=post, size=1, content_type="image/png", sha256="a" * 64
            ),
            FraudSignal: FraudSignal.objects.create(guild=guild, post=post, kind="spike", reason="t"),
            BonusAward: BonusAward.objects.create(
                guild=guild, creator=post.creator, rule=rule, week_start=date(2026, 11, 16), views_gained=1, amount=1
            ),
            ApifyRunRegistry: ApifyRunRegistry.objects.create(
                guild=guild, purpose="metrics", platform="tiktok", actor_id="a", expires_at=now + timedelta(days=1)
            ),
            BotCallback: BotCallback.objects.create(
                event_id=f"evt-{guild.pk}", event_type="t", guild=guild, payload={}, next_attempt_at=now
            ),
            GuildNotification: GuildNotification.objects.create(guild=guild, kind="t", event_key="k", title="t"),
            DashboardAuditLog: DashboardAuditLog.objects.create(guild=guild, actor="t", action="t", target_type="t"),
            CreatorMessage: CreatorMessage.objects.create(
                guild=guild,
                creator=post.creator,
                discord_user_id=post.creator.discord_user_id,
                kind="flagged",
                event_key="k",
                title="t",
            ),
        }
    return rows


def _count(table: str, where: str = "") -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)} {where}")
        return cursor.fetchone()[0]


def test_tests_run_as_the_restricted_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        user, superuser, bypass = cursor.fetchone()
    assert (user, superuser, bypass) == ("tracking_app", False, False)


def test_every_guild_table_has_forced_rls_and_a_policy():
    tables = {t.table for t in guild_tables()}
    assert {"tracking_post", "metrics_videometrics", "guilds_guild", "dashboard_auth_dashboardauditlog"} <= tables
    assert len(tables) >= 17
    assert rls_problems() == []


def test_check_rls_command_passes_and_lists_every_table():
    out = io.StringIO()
    call_command("check_rls", stdout=out)
    assert "tracking_post" in out.getvalue() and "MISSING" not in out.getvalue()


def test_every_model_with_guild_data_is_covered():
    """A new model with a guild column cannot be forgotten: the registry drives the policy list."""
    rows = _one_of_everything(make_guild())
    covered = {t.table for t in guild_tables()}
    assert {m._meta.db_table for m in rows} <= covered


def test_fail_closed_no_guild_set_reads_nothing_in_every_table(guild):
    rows = _one_of_everything(guild)
    for model in rows:
        table = model._meta.db_table
        with rls_bypass(reason="test"):
            assert _count(table) >= 1, table
        assert _count(table) == 0, f"{table} is readable without a guild"
        assert model.objects.count() == 0, table


def test_fail_closed_no_guild_set_writes_nothing(guild):
    rows = _one_of_everything(guild)
    for model in rows:
        table = model._meta.db_table
        if table in APPEND_ONLY_TABLES:
            continue  # the app role cannot UPDATE these at all (next test)
        # an update without a guild sees no row to update
        column = "id" if model is Guild else "guild_id"
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {column} = {column}")
            assert cursor.rowcount == 0, table
    # and an insert is refused by WITH CHECK
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        Creator.objects.create(guild=guild, discord_user_id="1234567890123456789", username="ghost")
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        Guild.objects.create(id=1234567890123456789, name="Sneaky")


def test_the_audit_trail_cannot_be_rewritten_even_inside_the_guild(guild):
    rows = _one_of_everything(guild)
    entry = rows[DashboardAuditLog]
    with guild_scope(guild.id):
        for table in APPEND_ONLY_TABLES:
            with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"UPDATE {table} SET created_at = now()")
            with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"DELETE FROM {table}")
        assert DashboardAuditLog.objects.filter(pk=entry.pk).exists()


def test_a_cross_guild_write_is_refused_by_with_check(guild, other_guild):
    post = make_post(guild)
    with guild_scope(guild.id):
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Creator.objects.create(guild=other_guild, discord_user_id="1234567890123456789", username="spy")
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Post.objects.filter(pk=post.pk).update(guild_id=other_guild.id)
    with guild_scope(other_guild.id):
        assert Post.objects.filter(pk=post.pk).update(status="rejected") == 0  # invisible, so untouched
    with rls_bypass(reason="test"):
        assert Post.objects.get(pk=post.pk).status == "tracking"


def test_raw_sql_without_a_filter_still_sees_one_guild(guild, other_guild):
    make_post(guild)
    make_post(guild)
    make_post(other_guild)
    with guild_scope(guild.id), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT guild_id FROM tracking_post")
        assert cursor.fetchall() == [(guild.id,)]
        cursor.execute("SELECT count(*) FROM tracking_post")
        assert cursor.fetchone() == (2,)


def test_one_connection_serving_guild_a_then_b_sees_only_b(guild, other_guild):
    a, b = make_post(guild), make_post(other_guild)
    with guild_scope(guild.id):
        assert list(Post.objects.values_list("pk", flat=True)) == [a.pk]
    with guild_scope(other_guild.id):
        assert list(Post.objects.values_list("pk", flat=True)) == [b.pk]
    # the setting was transaction-local: nothing carried over to the connection
    assert Post.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting('app.guild_id', true), '')")
        assert cursor.fetchone() == ("",)


def test_nested_scopes_restore_the_outer_guild(guild, other_guild):
    make_post(guild)
    make_post(other_guild)
    with guild_scope(guild.id):
        with guild_scope(other_guild.id):
            assert set(Post.objects.values_list("guild_id", flat=True)) == {other_guild.id}
        assert set(Post.objects.values_list("guild_id", flat=True)) == {guild.id}
        with rls_bypass(reason="test"):
            assert Post.objects.count() == 2
        assert Post.objects.count() == 1


def test_a_failed_block_does_not_leak_its_scope(guild, other_guild):
    make_post(other_guild)
    with guild_scope(guild.id):
        with pytest.raises(RuntimeError), guild_scope(other_guild.id):
            raise RuntimeError("boom")
        assert Post.objects.count() == 0  # back to guild A (which has no posts), not B


def test_a_task_run_without_a_guild_sees_nothing(guild):
    """Work that forgets its scope reads nothing rather than everything."""
    from metrics.periods import period_bounds
    from metrics.selectors import leaderboard

    post = make_post(guild)
    make_snapshot(post, views=500)
    with rls_bypass(reason="test"):
        Post.objects.filter(pk=post.pk).update(metrics_updated_at=timezone.now())
    start, end = period_bounds(period="all", now=timezone.now() + timedelta(minutes=1), tz=guild.tz)
    assert leaderboard(guild=guild, start=start, end=end).posts == []
    with guild_scope(guild.id):
        assert len(leaderboard(guild=guild, start=start, end=end).posts) == 1


@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_does_not_carry_a_guild_between_transactions():
    """Two transactions on the one connection of a psycopg pool: the second sees only its guild,
    and a third with no guild sees nothing."""
    from psycopg_pool import ConnectionPool

    from tests.factories import make_guild as mk

    a, b = mk(), mk()
    make_post(a)
    make_post(b)
    s = connection.settings_dict
    conninfo = f"host={s['HOST']} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"

    def as_app_role(conn):
        conn.execute("SET ROLE tracking_app")
        conn.commit()

    seen = []
    with ConnectionPool(conninfo, min_size=1, max_size=1, configure=as_app_role, open=True) as pool:
        for guild_id in (a.id, b.id, None):
            with pool.connection() as conn, conn.transaction():
                if guild_id is not None:
                    conn.execute("SELECT set_config('app.guild_id', %s, true)", [str(guild_id)])
                seen.append([r[0] for r in conn.execute("SELECT DISTINCT guild_id FROM tracking_post").fetchall()])
                pid = conn.info.backend_pid
        assert pid  # one connection served all three
    assert seen == [[a.id], [b.id], []]
