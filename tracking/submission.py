"""Submitting a post: the one service behind every surface (slash command, bot API, dashboard).

``submit_post`` runs in the caller's guild scope (``guild_scope(guild_id)``) and owns its transaction.
It calls no vendor: the post's numbers, author and caption come from its first scrape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.values import a_or_an
from guilds.bot_events import queue_bot_event
from guilds.models import Creator, Guild
from guilds.notifications import notify
from tracking.captions import MAX_CAPTION_CHARS
from tracking.lifecycle import post_event_payload
from tracking.models import Campaign, ClientAccount, Post, PostStatusChange, Profile
from tracking.platforms import registry
from tracking.post_urls import ParsedPostUrl, PostUrlError, parse_post_url
from tracking.screenshots import UploadedScreenshot, check_screenshot, store_screenshot
from tracking.submission_errors import SubmissionRefused

S = Post.Status


S = Post.Status


@dataclass(frozen=True)
class SubmissionResult:
    """``created`` is False when the same creator sent the same post again (a retried request)."""

    post: Post
    created: bool
    caption_verdict: str
    notes: list[str] = field(default_factory=list)


def submit_post(
    *,
    guild_id: int,
    creator: Creator,
    url: str,
    client_account_id: int,
    campaign_id: int | None = None,
    caption: str = "",
    screenshot: UploadedScreenshot | None = None,
    actor: str,
    now: datetime | None = None,
) -> SubmissionResult:
    """Record a creator's post for tracking, or refuse it with ``SubmissionRefused(code, message)``.

    Refused: a link that is not a post; a creator with no verified profile on the platform, or a link
    naming a handle that is not one of their verified handles; a post (or pending short link) already
    submitted in this guild — "Already submitted by @maya on 2026-11-20." — except that the same creator
    sending the same post for the same client account gets the existing post back (``created=False``),
    so retried requests are harmless; a client account that is not this guild's or is inactive; a
    screenshot that is empty, too large or not an image; a ``campaign_id`` that is not one of the client
    account's campaigns taking submissions now. Without ``campaign_id`` the post joins the account's
    campaign that is taking submissions (the most recently started), or none if it has none.

    The caption a creator may type is kept for display until the first scrape brings the real one; it
    is never checked (tracking.captions): captions are checked as the platform shows them.

    One transaction: a refusal or any error leaves no post, status change, screenshot row or
    notification behind. The post is due for its first refresh at once (``next_refresh_at = now``) and
    counts views until ``now + client_account.counting_window_days``. Queues a logs-channel message.
    """
    now = now or timezone.now()
    guild_id = int(guild_id)
    parsed = _parse(url)
    caption = (caption or "").strip()
    _check_inputs(caption=caption, screenshot=screenshot)
    if creator.guild_id != guild_id:
        raise SubmissionRefused("not_a_member", "You are not a tracked member of this server.")
    try:
        client_account_id = int(client_account_id)
    except (TypeError, ValueError):
        raise _account_not_found() from None
    with transaction.atomic():
        guild = Guild.objects.filter(pk=guild_id, active=True).first()
        if guild is None:
            raise SubmissionRefused("unknown_guild", "This server is not set up for tracking.")
        profile = _profile_for(guild_id=guild_id, creator=creator, parsed=parsed)
        existing = _existing(guild=guild, creator=creator, parsed=parsed, client_account_id=client_account_id)
        if existing is not None:
            return existing
        client_account = _client_account(guild_id=guild_id, client_account_id=client_account_id)
        campaign = _campaign(client_account=client_account, campaign_id=campaign_id, now=now)
        post = _create_post(
            campaign=campaign,
            guild=guild,
            creator=creator,
            profile=profile,
            client_account=client_account,
            parsed=parsed,
            url=url,
            caption=caption,
            actor=actor,
            now=now,
        )
        if post is None:  # a concurrent submission of the same post was committed first
            raced = _existing(guild=guild, creator=creator, parsed=parsed, client_account_id=client_account_id)
            if raced is None:  # pragma: no cover - the unique index said it exists
                raise SubmissionRefused("duplicate", "This post was just submitted; try again.", field="url")
            return raced
        if screenshot is not None:
            store_screenshot(
                post=post,
                data=screenshot.data,
                content_type=screenshot.content_type,
                filename=screenshot.filename,
                discord_url=screenshot.discord_url,
            )
        _announce(post=post, creator=creator)
    return SubmissionResult(post=post, created=True, caption_verdict=post.caption_verdict)


def _parse(url: str) -> ParsedPostUrl:
    try:
        return parse_post_url(url)
    except PostUrlError as error:
        raise SubmissionRefused(error.code, error.message, field="url") from None


def _check_inputs(*, caption: str, screenshot: UploadedScreenshot | None) -> None:
    """The checks that need no database, done before anything is read, spent or written."""
    if len(caption) > MAX_CAPTION_CHARS:
        raise SubmissionRefused(
            "caption_too_long",
            f"The caption is {len(caption)} characters; the limit is {MAX_CAPTION_CHARS}.",
            field="caption",
        )
    if screenshot is not None:
        check_screenshot(data=screenshot.data, content_type=screenshot.content_type, discord_url=screenshot.discord_url)


def _profile_for(*, guild_id: int, creator: Creator, parsed: ParsedPostUrl) -> Profile:
    """The creator's verified profile the post belongs to (the one the link names, when it names one)."""
    spec = registry.get(parsed.platform)
    verified = list(
        Profile.objects.for_guild(guild_id)
        .filter(creator=creator, platform=spec.key, verification_status=Profile.Verification.VERIFIED)
        .order_by("verified_at", "pk")
    )
    if not verified:
        raise SubmissionRefused(
            "no_verified_profile",
            f"You have no verified {spec.label} account. Link it with /link, put the code in your bio, "
            "and submit again once it is verified.",
            field="url",
        )
    if parsed.handle is None:
        return verified[0]  # the link names no account: the first scrape checks the author
    for profile in verified:
        if parsed.handle in (profile.handle, profile.platform_user_id):
            return profile
    handles = ", ".join(f"@{p.handle}" for p in verified)
    raise SubmissionRefused(
        "not_your_handle",
        f"That {spec.label} post is by @{parsed.handle}, which is not one of your verified accounts "
        f"(verified: {handles}).",
        field="url",
    )


def _existing(*, guild: Guild, creator: Creator, parsed: ParsedPostUrl, client_account_id: int) -> Any:
    """None when the post is new here; the retry's result for the same creator; else a refusal."""
    same = Q(canonical_url=parsed.canonical_url)
    if parsed.external_id:
        same |= Q(external_id=parsed.external_id)
    post = Post.objects.for_guild(guild).filter(same, platform=parsed.platform).select_related("creator").first()
    if post is None:
        return None
    if post.creator_id == creator.pk and post.client_account_id == client_account_id:
        day = post.submitted_at.astimezone(guild.tz).date().isoformat()
        return SubmissionResult(
            post=post,
            created=False,
            caption_verdict=post.caption_verdict,
            notes=[f"You already submitted this post on {day}."],
        )
    raise _duplicate(post, guild)


def _duplicate(post: Post, guild: Guild) -> SubmissionRefused:
    day = post.submitted_at.astimezone(guild.tz).date().isoformat()
    return SubmissionRefused("duplicate", f"Already submitted by @{post.creator.username} on {day}.", field="url")


def _client_account(*, guild_id: int, client_account_id: int) -> ClientAccount:
    account = ClientAccount.objects.for_guild(guild_id).filter(pk=client_account_id).first()
    if account is None:  # another guild's account is "not found" too: its existence is not ours to tell
        raise _account_not_found()
    if not account.active:
        raise SubmissionRefused(
            "client_account_inactive",
            f"The client account {account.name} is not taking submissions any more. Pick an active one.",
            field="client_account_id",
        )
    return account


def _campaign(*, client_account: ClientAccount, campaign_id: int | None, now: datetime) -> Campaign | None:
    campaigns = Campaign.objects.for_guild(client_account.guild_id).filter(client_account=client_account)
    if campaign_id is None:
        return campaigns.accepting(now).order_by("-starts_at", "-pk").first()
    try:
        campaign = campaigns.filter(pk=int(campaign_id)).first()
    except (TypeError, ValueError):
        campaign = None
    if campaign is None:
        raise SubmissionRefused(
            "campaign_not_found",
            f"That campaign is not one of {client_account.name}'s. Pick one of its campaigns.",
            field="campaign_id",
        )
    if not campaigns.accepting(now).filter(pk=campaign.pk).exists():
        raise SubmissionRefused(
            "campaign_not_accepting",
            f"The campaign {campaign.name} is {campaign.get_status_display().lower()} or outside its dates; "
            "it takes no submissions now.",
            field="campaign_id",
        )
    return campaign


def _account_not_found() -> SubmissionRefused:
    return SubmissionRefused(
        "client_account_not_found",
        "That client account does not exist in this server. Pick one from the list.",
        field="client_account_id",
    )


def _create_post(
    *,
    guild: Guild,
    creator: Creator,
    profile: Profile,
    client_account: ClientAccount,
    campaign: Campaign | None,
    parsed: ParsedPostUrl,
    url: str,
    caption: str,
    actor: str,
    now: datetime,
) -> Post | None:
    """The new post, or None when the unique indexes say it exists already (a concurrent insert)."""
    post = Post(
        guild=guild,
        creator=creator,
        profile=profile,
        client_account=client_account,
        campaign=campaign,
        platform=parsed.platform,
        external_id=parsed.external_id,
        submitted_url=url.strip()[:2048],
        canonical_url=parsed.canonical_url,
        needs_resolution=parsed.needs_resolution,
        caption=caption,
        status=S.SUBMITTED,
        submitted_at=now,
        counting_ends_at=now + timedelta(days=(campaign or client_account).counting_window_days),
        next_refresh_at=now,
    )
    try:
        with transaction.atomic():
            post.save(force_insert=True)
    except IntegrityError:
        # A concurrent submission of the same post (platform id, or canonical URL while the id is
        # unknown) won the race between our check and our insert; the caller looks it up.
        return None
    PostStatusChange.objects.create(
        guild_id=guild.pk, post=post, from_status="", to_status=S.SUBMITTED, reason="submitted", actor=actor[:120]
    )
    return post


def _announce(*, post: Post, creator: Creator) -> None:
    queue_bot_event(
        event_type="post.submitted",
        payload=post_event_payload(post, "submitted", discord_user_id=creator.discord_user_id),
        guild_id=post.guild_id,
    )
    notify(
        guild_id=post.guild_id,
        kind="submission",
        event_key=f"submission:{post.pk}",
        title=f"@{creator.username} submitted {a_or_an(post.get_platform_display())} post",
        body=post.canonical_url,
    )
