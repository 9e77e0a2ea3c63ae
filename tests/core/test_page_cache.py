"""A list page kept in the worker (core/api/page_cache.py) is served again only while nothing of its
guild has changed: every kind of write, committed before or after the page was read, in the guild or
across guilds, shows at the next request; another guild's writes do not cost it the page; nothing is
kept inside a transaction. On PostgreSQL, outside the test transaction (the cache is only used in
autocommit), as the restricted role."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection, transaction

from core.api import page_cache
from core.models import GuildChange
from core.tenancy import guild_scope, rls_bypass
from guilds.models import Creator
from tests.conftest import APP_ROLE
from tests.factories import make_post
from tests.helpers.api import READER_KEY, key_client
from tracking.models import Post

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("api_settings")]


@pytest.fixture
def as_app_role(transactional_db):
    """Requests (and the test) connect as the role that serves them: row-level security applies."""
    options = connection.settings_dict["OPTIONS"]
    connection.close()
    options["assume_role"] = APP_ROLE
    page_cache.clear()
    yield
    connection.close()
    options.pop("assume_role", None)
    page_cache.clear()


@pytest.fixture
def statements():
    """The SQL of every statement Django's connection runs from here on."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def _page_reads(sql: list[str]) -> int:
    return sum(1 for s in sql if "tracking_post" in s)


def _views(client, guild) -> dict[int, int]:
    response = client.get(f"/api/v1/guilds/{guild.pk}/posts")
    assert response.status_code == 200, response.content
    return {p["id"]: p["views"] for p in response.json()["results"]}


def test_an_unchanged_page_is_served_again_after_one_check(as_app_role, guild, statements):
    post = make_post(guild, views=10)
    client = key_client(READER_KEY)
    statements.clear()
    first = client.get(f"/api/v1/guilds/{guild.pk}/posts")
    reads_first = _page_reads(statements)
    statements.clear()
    second = client.get(f"/api/v1/guilds/{guild.pk}/posts")
    assert second.status_code == 200
    assert second.content == first.content
    assert second.json()["results"][0]["id"] == post.pk
    assert reads_first == 1
    assert _page_reads(statements) == 0  # only the check ran
    assert sum("core_guildchange" in s for s in statements) == 1


def _update_views(guild, post):
    with guild_scope(guild.pk):
        Post.objects.filter(pk=post.pk).update(views=999)


def _rename_creator(guild, post):
    with guild_scope(guild.pk):
        Creator.objects.filter(pk=post.creator_id).update(username="renamed")


def _raw_connection(**kw):
    params = connection.get_connection_params()
    return psycopg.connect(
        dbname=params["dbname"], user=params.get("user"), host=params.get("host"), port=params.get("port"), **kw
    )


def _delete_post_at_a_psql_prompt(guild, post):
    """A superuser with no scope at all (the trigger notes every guild): the app role may not delete
    posts, whose status history is append-only."""
    with _raw_connection(autocommit=True) as owner:
        owner.execute("DELETE FROM tracking_poststatuschange WHERE post_id = %s", [post.pk])
        owner.execute("DELETE FROM tracking_post WHERE id = %s", [post.pk])


def _add_post(guild, post):
    make_post(guild, views=5)


def _bypass_update(guild, post):
    with rls_bypass(reason="test: a cross-guild write"):
        Post.objects.filter(pk=post.pk).update(views=999)


@pytest.mark.parametrize(
    "change", [_update_views, _rename_creator, _delete_post_at_a_psql_prompt, _add_post, _bypass_update]
)
def test_every_kind_of_change_shows_at_the_next_request(as_app_role, guild, change):
    post = make_post(guild, views=10)
    client = key_client(READER_KEY)
    before = client.get(f"/api/v1/guilds/{guild.pk}/posts").json()["results"]
    assert client.get(f"/api/v1/guilds/{guild.pk}/posts").json()["results"] == before  # kept
    change(guild, post)
    after = client.get(f"/api/v1/guilds/{guild.pk}/posts").json()["results"]
    with rls_bypass(reason="test assertion"):
        expected = list(Post.objects.filter(guild=guild).order_by("-submitted_at", "-pk").values_list("pk", flat=True))
        username = Creator.objects.get(pk=post.creator_id).username
    assert [p["id"] for p in after] == expected
    assert after != before
    if change is _rename_creator:
        assert after[0]["creator_username"] == username == "renamed"
    if change in (_update_views, _bypass_update):
        assert after[0]["views"] == 999


def test_a_change_committed_after_the_page_was_read_shows_next(as_app_role, guild):
    """The write's transaction began (and wrote) before the page was read and committed after: the
    page read did not see it, and the next request must."""
    post = make_post(guild, views=10)
    client = key_client(READER_KEY)
    writer = _raw_connection(autocommit=False)
    try:
        writer.execute(f"SET ROLE {APP_ROLE}")
        writer.execute("SELECT set_config('app.guild_id', %s, false)", [str(guild.pk)])
        writer.execute("UPDATE tracking_post SET views = 777 WHERE id = %s", [post.pk])  # not committed
        assert _views(client, guild) == {post.pk: 10}
        assert _views(client, guild) == {post.pk: 10}  # kept, still right
        writer.commit()
        assert _views(client, guild) == {post.pk: 777}
    finally:
        writer.close()


def test_another_guilds_writes_keep_the_page(as_app_role, guild, other_guild, statements):
    make_post(guild, views=10)
    theirs = make_post(other_guild, views=1)
    client = key_client(READER_KEY)
    client.get(f"/api/v1/guilds/{guild.pk}/posts")
    with guild_scope(other_guild.pk):
        Post.objects.filter(pk=theirs.pk).update(views=2)
    statements.clear()
    assert client.get(f"/api/v1/guilds/{guild.pk}/posts").status_code == 200
    assert _page_reads(statements) == 0
    assert _views(client, other_guild) == {theirs.pk: 2}


def test_each_guild_is_served_its_own_kept_page(as_app_role, guild, other_guild):
    mine, theirs = make_post(guild), make_post(other_guild)
    client = key_client(READER_KEY)
    for _ in range(3):
        assert list(_views(client, guild)) == [mine.pk]
        assert list(_views(client, other_guild)) == [theirs.pk]


def test_nothing_is_kept_inside_a_transaction(as_app_role, guild, statements):
    make_post(guild)
    client = key_client(READER_KEY)
    statements.clear()
    with transaction.atomic():
        client.get(f"/api/v1/guilds/{guild.pk}/posts")
        client.get(f"/api/v1/guilds/{guild.pk}/posts")
    assert _page_reads(statements) == 2
    assert not page_cache._pages


def test_a_page_is_kept_no_longer_than_its_time_to_live(as_app_role, guild, statements, monkeypatch):
    make_post(guild)
    client = key_client(READER_KEY)
    monkeypatch.setattr(page_cache, "TTL_SECONDS", 0.0)
    statements.clear()
    client.get(f"/api/v1/guilds/{guild.pk}/posts")
    client.get(f"/api/v1/guilds/{guild.pk}/posts")
    assert _page_reads(statements) == 2


def test_the_trigger_notes_each_guild_once_per_transaction_and_bypasses_as_every_guild(as_app_role, guild, other_guild):
    post, theirs = make_post(guild), make_post(other_guild)
    with rls_bypass(reason="test setup"):
        GuildChange.objects.all().delete()
    with transaction.atomic(), guild_scope(guild.pk):
        Post.objects.filter(pk=post.pk).update(views=1)
        Post.objects.filter(pk=post.pk).update(views=2)
        Creator.objects.filter(pk=post.creator_id).update(username="x")
    with transaction.atomic(), rls_bypass(reason="test: cross-guild"):
        Post.objects.filter(pk=theirs.pk).update(views=3)
    with guild_scope(other_guild.pk):
        Post.objects.filter(pk=post.pk).update(views=4)  # RLS: not its guild, so no row changes
    with rls_bypass(reason="test assertion"):
        noted = list(GuildChange.objects.order_by("pk").values_list("guild_id", flat=True))
    assert noted == [guild.pk, GuildChange.EVERY_GUILD, other_guild.pk]
    # The role under RLS sees its guild's rows and every guild's, never another guild's.
    with guild_scope(guild.pk):
        assert sorted(GuildChange.objects.values_list("guild_id", flat=True)) == [GuildChange.EVERY_GUILD, guild.pk]


def test_a_statement_without_a_scope_notes_nothing_and_still_runs(as_app_role, guild):
    make_post(guild)
    with rls_bypass(reason="test setup"):
        GuildChange.objects.all().delete()
    assert Post.objects.filter(views=-1).update(views=0) == 0  # no scope: RLS shows no row, no error
    with rls_bypass(reason="test assertion"):
        assert GuildChange.objects.count() == 0


def test_the_app_role_cannot_forge_another_guilds_change(as_app_role, guild, other_guild):
    from django.db.utils import ProgrammingError

    with pytest.raises(ProgrammingError), guild_scope(guild.pk), transaction.atomic():
        GuildChange.objects.create(guild_id=other_guild.pk, xid=1)


def test_a_page_is_kept_while_queries_are_logged_too(as_app_role, guild):
    """DEBUG (or a test capturing queries) sends the statement unprepared; the page is kept all the same."""
    from django.test.utils import CaptureQueriesContext

    make_post(guild)
    client = key_client(READER_KEY)
    with CaptureQueriesContext(connection) as first:
        client.get(f"/api/v1/guilds/{guild.pk}/posts")
    with CaptureQueriesContext(connection) as second:
        client.get(f"/api/v1/guilds/{guild.pk}/posts")
    assert _page_reads([q["sql"] for q in first.captured_queries]) == 1
    assert _page_reads([q["sql"] for q in second.captured_queries]) == 0
    assert any("core_guildchange" in q["sql"] for q in second.captured_queries)
