"""Screenshots creators attach to a submission: images only, size-limited, stored by content hash.

The file's type is decided by its first bytes (PNG, JPEG, WebP, GIF), never by the content type or the
file name the client sent; the name is never used at all, so no path the client chose can be written.
Files land at ``SCREENSHOT_STORAGE_PATH/<guild id>/<sha256>.<ext>``; the resolved path is checked to be
inside the storage directory before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from tracking.models import Post, ScreenshotUpload
from tracking.submission_errors import SubmissionRefused

_PNG = b"\x89PNG\r\n\x1a\n"
_URL = URLValidator(schemes=["https"])


@dataclass(frozen=True)
class UploadedScreenshot:
    """A screenshot as received: raw bytes and what the client said about them (not trusted)."""

    data: bytes
    content_type: str = ""
    filename: str = ""
    discord_url: str = ""


@dataclass(frozen=True)
class ImageKind:
    extension: str
    content_type: str


def sniff_image(data: bytes) -> ImageKind | None:
    """The image type the bytes really are, or None when they are not a PNG, JPEG, WebP or GIF."""
    if data.startswith(_PNG):
        return ImageKind("png", "image/png")
    if data.startswith(b"\xff\xd8\xff"):
        return ImageKind("jpg", "image/jpeg")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ImageKind("gif", "image/gif")
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageKind("webp", "image/webp")
    return None


def check_screenshot(*, data: bytes, content_type: str = "", discord_url: str = "") -> ImageKind:
    """Validate a screenshot without writing anything. Raises ``SubmissionRefused`` with the reason."""
    limit = settings.SCREENSHOT_MAX_BYTES
    if not data:
        raise SubmissionRefused("screenshot_empty", "The screenshot is empty.", field="screenshot")
    if len(data) > limit:
        raise SubmissionRefused(
            "screenshot_too_large",
            f"The screenshot is {_size(len(data))}; the limit is {_size(limit)}. Crop it or save it as JPEG.",
            field="screenshot",
        )
    kind = sniff_image(data)
    if kind is None:
        raise SubmissionRefused(
            "screenshot_not_an_image",
            "The screenshot is not a PNG, JPEG, WebP or GIF image"
            + (f" (whatever its type {content_type[:50]!r} says)." if content_type else ".")
            + " Attach the image itself.",
            field="screenshot",
        )
    if discord_url:
        try:
            _URL(discord_url)
        except ValidationError:
            raise SubmissionRefused(
                "screenshot_bad_url", "The screenshot link must be an https:// address.", field="screenshot"
            ) from None
    return kind


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{round(n / 1024)} KB" if n >= 1024 else f"{n} bytes"


def store_screenshot(
    *, post: Post, data: bytes, content_type: str, filename: str, discord_url: str = ""
) -> ScreenshotUpload:
    """Validate, write and record a screenshot of ``post``. Idempotent per (post, sha256).

    ``filename`` is accepted for the record only and never becomes part of a path. Raises
    ``SubmissionRefused`` (empty, too large, not an image, bad link). The file is written before the
    row; a rolled-back row leaves at most a content-addressed file that the next identical upload
    reuses. Runs in the caller's guild scope.
    """
    kind = check_screenshot(data=data, content_type=content_type, discord_url=discord_url)
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{int(post.guild_id)}/{digest}.{kind.extension}"
    _write(relative, data)
    upload, _ = ScreenshotUpload.objects.get_or_create(
        guild_id=post.guild_id,
        post=post,
        sha256=digest,
        defaults={
            "discord_url": discord_url,
            "file_path": relative,
            "size": len(data),
            "content_type": kind.content_type,
        },
    )
    return upload


def storage_root() -> Path:
    return Path(settings.SCREENSHOT_STORAGE_PATH).resolve()


def _write(relative: str, data: bytes) -> Path:
    root = storage_root()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        # Unreachable with the names built above; kept so a future change cannot escape the directory.
        raise SubmissionRefused("screenshot_path", "The screenshot could not be stored.", field="screenshot")
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write-then-rename: a reader never sees half a file, and two identical uploads converge.
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target
