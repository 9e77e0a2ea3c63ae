"""store_screenshot: images only (by their bytes), size-limited, content-addressed, never outside storage."""

from __future__ import annotations

import hashlib

import pytest

from core.tenancy import guild_scope
from tests.factories import make_post
from tests.helpers.submissions import PNG
from tracking.models import ScreenshotUpload
from tracking.screenshots import store_screenshot
from tracking.submission_errors import SubmissionRefused

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("screenshots_in_tmp")]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 40
GIF = b"GIF89a" + b"\x02" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x03" * 40


@pytest.fixture
def post(guild):
    return make_post(guild)


def store(post, data, **kwargs):
    kwargs.setdefault("content_type", "image/png")
    kwargs.setdefault("filename", "proof.png")
    with guild_scope(post.guild_id):
        return store_screenshot(post=post, data=data, **kwargs)


@pytest.mark.parametrize(
    ("data", "ext", "content_type"),
    [(PNG, "png", "image/png"), (JPEG, "jpg", "image/jpeg"), (GIF, "gif", "image/gif"), (WEBP, "webp", "image/webp")],
)
def test_images_are_stored_under_the_guild_by_their_hash(post, settings, data, ext, content_type):
    digest = hashlib.sha256(data).hexdigest()

    shot = store(post, data, content_type="application/octet-stream")

    assert shot.file_path == f"{post.guild_id}/{digest}.{ext}"
    assert (shot.sha256, shot.size, shot.content_type) == (digest, len(data), content_type)
    assert (settings.SCREENSHOT_STORAGE_PATH / str(post.guild_id) / f"{digest}.{ext}").read_bytes() == data


def test_same_screenshot_twice_is_one_row_and_one_file(post, settings, bypass):
    first = store(post, PNG)
    second = store(post, PNG)

    assert first.pk == second.pk
    with bypass():
        assert ScreenshotUpload.objects.count() == 1
    assert [p.name for p in (settings.SCREENSHOT_STORAGE_PATH / str(post.guild_id)).iterdir()] == [
        f"{first.sha256}.png"
    ]


@pytest.mark.parametrize("filename", ["../../etc/passwd.png", "/etc/passwd.png", "..\\..\\x.png", "a/../../b.png"])
def test_a_path_in_the_filename_is_ignored_and_the_file_lands_inside_storage(post, settings, tmp_path, filename):
    shot = store(post, PNG, filename=filename)

    root = settings.SCREENSHOT_STORAGE_PATH.resolve()
    written = [p.resolve() for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [root / shot.file_path]
    assert written[0].is_relative_to(root) and ".." not in shot.file_path and "passwd" not in shot.file_path


def test_a_guild_directory_symlinked_outside_storage_is_refused(post, settings, tmp_path, bypass):
    outside = tmp_path / "outside"
    outside.mkdir()
    settings.SCREENSHOT_STORAGE_PATH.mkdir(parents=True)
    (settings.SCREENSHOT_STORAGE_PATH / str(post.guild_id)).symlink_to(outside)

    with pytest.raises(SubmissionRefused) as caught:
        store(post, PNG)

    assert caught.value.message == "The screenshot could not be stored."
    assert list(outside.iterdir()) == []


def test_oversized_screenshot_is_refused(post, settings, tmp_path):
    settings.SCREENSHOT_MAX_BYTES = 100

    with pytest.raises(SubmissionRefused) as caught:
        store(post, PNG + b"\x00" * 200)

    assert caught.value.code == "screenshot_too_large"
    assert (
        caught.value.message
        == f"The screenshot is {len(PNG) + 200} bytes; the limit is 100 bytes. Crop it or save it as JPEG."
    )
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (b"<?php echo 1; ?>" + b"\x89PNG", "image/png"),
        (b"MZ\x90\x00 an executable", "image/jpeg"),
    ],
)
def test_bytes_that_are_not_an_image_are_refused_whatever_the_content_type(post, tmp_path, data, content_type):
    with pytest.raises(SubmissionRefused) as caught:
        store(post, data, content_type=content_type)

    assert caught.value.code == "screenshot_not_an_image"
    assert caught.value.message.startswith("The screenshot is not a PNG, JPEG, WebP or GIF image")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_empty_screenshot_is_refused(post):
    with pytest.raises(SubmissionRefused, match="The screenshot is empty."):
        store(post, b"")


def test_screenshot_link_must_be_https(post):
    with pytest.raises(SubmissionRefused, match="must be an https:// address"):
        store(post, PNG, discord_url="javascript:alert(1)")
