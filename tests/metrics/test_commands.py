"""manage.py import_dataset and expire_runs: thin shells, clear failures, non-zero exits."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from metrics.models import VideoMetrics
from tests.helpers.apify import make_posts, tiktok_item
from tracking.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(tmp_path, guild):
    posts = make_posts(guild, 2)
    path = tmp_path / "dataset.json"
    rows = [tiktok_item(p, views=500) for p in posts] + [{"error": "Post not found", "url": "https://x.example/1"}]
    rows.append({**tiktok_item(posts[0]), "id": "123"})  # a post we do not track
    path.write_text(json.dumps(rows))
    return path, posts


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_dataset_stores_and_reports(dataset, guild, bypass):
    path, posts = dataset
    out = run("import_dataset", "--guild", str(guild.id), "--platform", "tiktok", str(path))
    assert "inserted=2 updated=0 unmatched=1 errors=1" in out
    with bypass():
        assert set(VideoMetrics.objects.values_list("provider", flat=True)) == {"import"}
    again = run("import_dataset", "--guild", str(guild.id), "--platform", "tiktok", str(path))
    assert "inserted=0 updated=2" in again
    with bypass():
        assert VideoMetrics.objects.count() == 2


def test_an_item_whose_counts_cannot_be_read_is_refused_and_changes_nothing(tmp_path, guild, bypass):
    """One item saying "lots" must not blank a post's numbers or push its refresh out."""
    good, bad = make_posts(guild, 2)
    with bypass():
        Post.objects.filter(pk=bad.pk).update(views=4321, likes=99, comments=7, shares=3)
        before = Post.objects.values("views", "likes", "comments", "shares", "next_refresh_at", "failure_count").get(
            pk=bad.pk
        )
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps([tiktok_item(good, views=500), {**tiktok_item(bad), "playCount": "lots"}]))
    out, err = StringIO(), StringIO()
    call_command("import_dataset", "--guild", str(guild.id), "--platform", "tiktok", str(path), stdout=out, stderr=err)
    assert f"refused item 1 (post #{bad.pk}): playCount is 'lots', not a count" in err.getvalue()
    assert "inserted=1 updated=0 unmatched=0 errors=0 refused=1" in out.getvalue()
    assert "1 item(s) refused: their posts were left as they were" in out.getvalue()
    with bypass():
        after = Post.objects.values("views", "likes", "comments", "shares", "next_refresh_at", "failure_count").get(
            pk=bad.pk
        )
        assert after == before
        assert not VideoMetrics.objects.filter(post=bad).exists()
        assert VideoMetrics.objects.get(post=good).views == 500


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--guild", "1", "--platform", "tiktok", "/nonexistent.json"], "No such file"),
        (["--guild", "1", "--platform", "myspace", "FILE"], "Unknown platform 'myspace'"),
        (["--guild", "1", "--platform", "youtube", "FILE"], "Unknown platform 'youtube'"),
        (["--guild", "1", "--platform", "tiktok", "FILE"], "No guild with id 1"),
        (["--guild", "GUILD", "--platform", "tiktok", "--captured-at", "yesterday", "FILE"], "not an ISO 8601"),
    ],
)
def test_import_dataset_bad_arguments(dataset, guild, args, message):
    path, _ = dataset
    args = [str(path) if a == "FILE" else str(guild.id) if a == "GUILD" else a for a in args]
    with pytest.raises(CommandError, match=message):
        run("import_dataset", *args)


@pytest.mark.parametrize(("content", "message"), [("{not json", "is not valid JSON"), ('{"a": 1}', "JSON array")])
def test_import_dataset_bad_files(tmp_path, guild, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        run("import_dataset", "--guild", str(guild.id), "--platform", "tiktok", str(path))


def test_import_dataset_exits_non_zero_from_the_shell(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", "import_dataset", "--guild", "1", "--platform", "tiktok", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        env={
            "DJANGO_DEBUG": "true",
            "PATH": "",
            "LOG_LEVEL": "ERROR",
            "DATABASE_URL": "sqlite:///" + str(tmp_path / "db.sqlite3"),
        },
    )
    assert proc.returncode == 1 and "No such file" in proc.stderr


def test_reconcile_runs_command_prints_what_it_did(db):
    assert run("reconcile_runs").strip() == (
        "adopted=0 refunded=0 polled=0 extended=0 failed=0 deliveries_done=0 deliveries_retrying=0 deliveries_failed=0"
    )
