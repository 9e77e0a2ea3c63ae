"""submit_post: what a creator sees when a submission is accepted or refused, and what is stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.tenancy import guild_scope
from guilds.models import Guild, GuildNotification
from tests.factories import make_client_account, make_creator, make_profile
from tests.helpers.submissions import NOW, PNG, POST_URL, png_upload
from tracking.models import FraudSignal, Post, PostStatusChange, Profile, ScreenshotUpload
from tracking.platforms import Platform
from tracking.submission import submit_post
from tracking.submission_errors import SubmissionRefused

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("screenshots_in_tmp")]


def refusal(submit, *args, **kwargs) -> SubmissionRefused:
    with pytest.raises(SubmissionRefused) as caught:
        submit(*args, **kwargs)
    return caught.value


def nothing_written(bypass) -> bool:
    with bypass():
        return not (
            Post.objects.exists()
            or PostStatusChange.objects.exists()
            or ScreenshotUpload.objects.exists()
            or GuildNotification.objects.exists()
        )


def test_accepted_post_is_due_at_once_counts_for_the_window_and_is_announced(submit, guild, maya_tiktok, brand, bypass):
    result = submit(POST_URL + "?is_from_webapp=1", caption="Loving it")

    assert result.created is True
    assert result.caption_verdict == "unchecked"  # checked once a scrape shows the real caption
    assert result.notes == []
    with bypass():
        post = Post.objects.get()
        change = PostStatusChange.objects.get()
        note = GuildNotification.objects.get()
    assert (post.platform, post.external_id, post.profile_id) == ("tiktok", "7234567890123456789", maya_tiktok.id)
    assert post.canonical_url == POST_URL
    assert post.status == Post.Status.SUBMITTED and post.needs_resolution is False
    assert post.next_refresh_at == NOW
    assert post.counting_ends_at == NOW + timedelta(days=14)
    assert (post.caption, post.caption_verdict, post.caption_hash) == ("Loving it", "unchecked", "")
    assert (change.from_status, change.to_status, change.actor) == ("", "submitted", "discord:maya")
    assert note.event_key == f"submission:{post.id}" and note.kind == "submission" and note.channel == "logs"
    assert note.title == "@maya submitted a TikTok post"


def test_short_link_is_kept_for_resolution(submit, bypass):
    result = submit("https://vm.tiktok.com/ZMabcdef/")

    assert result.post.needs_resolution is True and result.post.external_id is None
    assert result.post.canonical_url == "https://vm.tiktok.com/ZMabcdef/"


@pytest.mark.parametrize(
    ("url", "code", "message"),
    [
        (
            "hello",
            "unknown_site",
            "That link is from hello, which we don't track. Paste the link of a post on TikTok, Instagram, "
            "YouTube, X or Facebook, like https://www.tiktok.com/@user/video/7234567890123456789 or "
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ.",
        ),
        (
            "https://www.tiktok.com/@maya",
            "profile_page",
            "That looks like a TikTok profile page, not a video. Paste the link of the video itself, like "
            "https://www.tiktok.com/@user/video/7234567890123456789.",
        ),
    ],
)
def test_links_that_are_not_posts_are_refused(submit, bypass, url, code, message):
    error = refusal(submit, url)

    assert (error.code, error.message, error.fields) == (code, message, {"url": [message]})
    assert nothing_written(bypass)


def test_no_verified_profile_on_the_platform_is_refused(submit, bypass):
    error = refusal(submit, "https://www.youtube.com/shorts/dQw4w9WgXcQ")

    assert error.code == "no_verified_profile"
    assert error.message == (
        "You have no verified YouTube account. Link it with /link, put the code in your bio, "
        "and submit again once it is verified."
    )
    assert nothing_written(bypass)


def test_unverified_profile_does_not_count(submit, guild, maya, bypass):
    make_profile(
        guild,
        maya,
        platform=Platform.YOUTUBE,
        handle="mayatube",
        verification_status=Profile.Verification.UNVERIFIED,
        verified_at=None,
    )

    assert refusal(submit, "https://youtu.be/dQw4w9WgXcQ").code == "no_verified_profile"


def test_a_handle_that_is_not_the_creators_is_refused_naming_the_verified_ones(submit, guild, maya, bypass):
    make_profile(guild, maya, platform=Platform.TIKTOK, handle="maya.clips")

    error = refusal(submit, "https://www.tiktok.com/@someoneelse/video/7234567890123456789")

    assert error.code == "not_your_handle"
    assert error.message == (
        "That TikTok post is by @someoneelse, which is not one of your verified accounts "
        "(verified: @maya, @maya.clips)."
    )
    assert nothing_written(bypass)


def test_second_verified_handle_is_used_when_the_link_names_it(submit, guild, maya):
    clips = make_profile(guild, maya, platform=Platform.TIKTOK, handle="maya.clips")

    assert submit("https://www.tiktok.com/@maya.clips/video/7234567890123456780").post.profile_id == clips.id


def test_duplicate_is_refused_saying_who_and_when(submit, guild, bypass):
    submit()
    other = make_creator(guild, username="leo")
    make_profile(guild, other, platform=Platform.TIKTOK, handle="leo")

    # TikTok serves a video under any handle, so the same id behind another name is the same post.
    error = refusal(submit, "tiktok.com/@leo/video/7234567890123456789", creator=other, now=NOW + timedelta(days=3))

    assert (error.code, error.message) == ("duplicate", "Already submitted by @maya on 2026-11-20.")
    with bypass():
        assert Post.objects.count() == 1


def test_duplicate_date_is_in_the_guilds_time_zone(submit, guild, bypass):
    with bypass():
        Guild.objects.filter(pk=guild.pk).update(timezone="Pacific/Kiritimati")  # UTC+14: already the 21st
    submit()
    other = make_creator(guild, username="leo")
    make_profile(guild, other, platform=Platform.TIKTOK, handle="leo")

    error = refusal(submit, "https://www.tiktok.com/@leo/video/7234567890123456789", creator=other)

    assert error.message == "Already submitted by @maya on 2026-11-21."


def test_same_post_by_same_creator_again_is_a_harmless_retry(submit, bypass):
    first = submit()
    again = submit(POST_URL + "?lang=en", now=NOW + timedelta(hours=1))

    assert again.created is False and again.post.pk == first.post.pk
    assert again.notes == ["You already submitted this post on 2026-11-20."]
    with bypass():
        assert Post.objects.count() == 1 and GuildNotification.objects.count() == 1


def test_same_post_for_another_client_account_is_a_duplicate(submit, guild, bypass):
    submit()
    other_brand = make_client_account(guild, name="Globex")

    assert refusal(submit, client_account_id=other_brand.id).code == "duplicate"


def test_pending_short_link_is_refused_as_a_duplicate(submit, guild, bypass):
    submit("https://vm.tiktok.com/ZMabcdef/")
    other = make_creator(guild, username="leo")
    make_profile(guild, other, platform=Platform.TIKTOK, handle="leo")

    error = refusal(submit, "vm.tiktok.com/ZMabcdef", creator=other)

    assert (error.code, error.message) == ("duplicate", "Already submitted by @maya on 2026-11-20.")


def test_inactive_client_account_is_refused(submit, guild, bypass):
    closed = make_client_account(guild, name="Initech", active=False)

    error = refusal(submit, client_account_id=closed.id)

    assert error.code == "client_account_inactive"
    assert error.message == "The client account Initech is not taking submissions any more. Pick an active one."
    assert error.fields == {"client_account_id": [error.message]}
    assert nothing_written(bypass)


@pytest.mark.parametrize("which", ["other_guild", "missing", "garbage"])
def test_client_account_of_another_guild_is_not_found(submit, other_guild, bypass, which):
    account_id = {"missing": 987654, "garbage": "1; DROP TABLE"}.get(which) or make_client_account(other_guild).id

    error = refusal(submit, client_account_id=account_id)

    assert error.code == "client_account_not_found"
    assert error.message == "That client account does not exist in this server. Pick one from the list."
    assert nothing_written(bypass)


def test_creator_of_another_guild_is_refused(guild, other_guild, brand, bypass):
    stranger = make_creator(other_guild, username="stranger")
    make_profile(other_guild, stranger, platform=Platform.TIKTOK, handle="maya")

    with guild_scope(guild.id), pytest.raises(SubmissionRefused) as caught:
        submit_post(guild_id=guild.id, creator=stranger, url=POST_URL, client_account_id=brand.id, actor="x")

    assert caught.value.code == "not_a_member"
    assert nothing_written(bypass)


def test_a_typed_caption_that_breaks_the_rules_does_not_flag_the_submission(submit, guild, brand, bypass):
    from tracking.models import ClientAccount

    with bypass():
        ClientAccount.objects.filter(pk=brand.pk).update(required_tags=["#ad"], banned_words=["scam"])

    result = submit(caption="not a scam at all")

    assert result.created is True and result.caption_verdict == "unchecked"
    with bypass():
        post = Post.objects.get()
        assert not FraudSignal.objects.exists()
    assert post.status == Post.Status.SUBMITTED and post.caption_reasons == []


def test_screenshot_is_stored_with_the_post(submit, guild, settings, bypass):
    result = submit(screenshot=png_upload(discord_url="https://cdn.discordapp.com/a/proof.png"))

    with bypass():
        shot = ScreenshotUpload.objects.get()
    assert shot.post_id == result.post.id and shot.content_type == "image/png" and shot.size == len(PNG)
    assert (settings.SCREENSHOT_STORAGE_PATH / shot.file_path).read_bytes() == PNG


def test_oversized_screenshot_leaves_no_post(submit, settings, bypass):
    settings.SCREENSHOT_MAX_BYTES = 1024 * 1024
    error = refusal(submit, screenshot=png_upload(data=PNG + b"\x00" * (2 * 1024 * 1024)))

    assert error.code == "screenshot_too_large"
    assert error.message == "The screenshot is 2.0 MB; the limit is 1.0 MB. Crop it or save it as JPEG."
    assert nothing_written(bypass)


def test_non_image_with_an_image_content_type_leaves_no_post(submit, bypass):
    fake = png_upload(data=b"%PDF-1.7 not an image at all", content_type="image/png", filename="proof.png")

    error = refusal(submit, screenshot=fake)

    assert error.code == "screenshot_not_an_image"
    assert error.message == (
        "The screenshot is not a PNG, JPEG, WebP or GIF image (whatever its type 'image/png' says). "
        "Attach the image itself."
    )
    assert nothing_written(bypass)


def test_an_error_after_the_post_was_written_leaves_nothing(submit, monkeypatch, bypass):
    import tracking.submission

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tracking.submission, "store_screenshot", broken)
    with pytest.raises(OSError, match="disk full"):
        submit(screenshot=png_upload())

    assert nothing_written(bypass)


def test_overlong_caption_is_refused(submit, bypass):
    error = refusal(submit, caption="x" * 5001)

    assert (error.code, error.message) == ("caption_too_long", "The caption is 5001 characters; the limit is 5000.")
    assert nothing_written(bypass)


def test_submission_queries_are_bounded(submit, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        submit(caption="hello")
