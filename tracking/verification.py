"""Proving a social profile belongs to a creator: a short code in the profile's bio, or staff.

The flow, whatever the surface (slash command, bot API, dashboard):

    profile = link_profile(guild_id=g, creator=c, platform="tiktok", handle="@Maya")  # code issued
    # the creator puts profile.verification_code in their bio, then asks us to check
    mark_verification_pending(profile=profile)        # the verification run is about to start
    complete_verification(profile=profile, item=item) # item: the scraped ProfileItem (bio)
    # or, when the run failed: fail_verification(profile=profile, reason="...")

Staff can verify or revoke by hand (``staff_verify_profile`` / ``staff_revoke_profile``, both
audited; Django admin actions on ProfileAdmin).

Every function writes through the caller's tenancy scope: call them inside
``guild_scope(profile.guild_id)`` (or a logged ``rls_bypass`` for staff work). They lock the profile
row before changing it, so two verification runs finishing together cannot both decide.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from guilds.audit import record_audit
from guilds.bot_events import queue_bot_event
from guilds.notifications import notify
from tracking.models import Profile
from tracking.platforms import registry
from tracking.platforms.items import ProfileItem
from tracking.platforms.spec import PlatformSpec
from tracking.post_urls import HandleError, parse_profile_handle

# No 0/O, 1/I/L: a creator copies the code by eye from Discord into their bio.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_PREFIX = "TD-"
CODE_LENGTH = 6
EXPIRED_MESSAGE = "Your code expired; run /link again for a new one."
EXPIRED_REASON = "The verification code expired before the check ran (code expired); run /link again."

V = Profile.Verification


class ProfileRefused(ValueError):
    """A profile operation we refuse; ``message`` is meant for the creator (or staff member)."""

    def __init__(self, message: str, *, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


def new_verification_code() -> str:
    """``TD-`` and six characters from an alphabet with no look-alikes, from ``secrets``."""
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def link_profile(*, guild_id: int, creator, platform: str, handle: str, now: datetime | None = None) -> Profile:
    """Link ``handle`` on ``platform`` to ``creator`` and issue a fresh verification code.

    The handle is normalised (``@Maya``, ``maya`` and the profile link are the same profile). Re-linking
    the creator's own profile issues a new code; re-linking one that is already verified returns it
    unchanged. A handle linked by another creator of the guild is refused (``ProfileRefused``) unless
    that link went stale: never verified, no check running, no live code and no posts — then it passes
    to this creator, so nobody can squat a handle by linking it first. Raises ``ProfileRefused`` for an
    unknown platform or a malformed handle, with the message to show.
    """
    now = now or timezone.now()
    spec = _platform(platform)
    try:
        normalised = parse_profile_handle(spec.key, handle)
    except HandleError as error:
        raise ProfileRefused(error.message, code=error.code) from None
    if creator.guild_id != int(guild_id):
        raise ProfileRefused("That member is not in this server.", code="wrong_guild")
    try:
        with transaction.atomic():
            return _link(guild_id=int(guild_id), creator=creator, spec=spec, handle=normalised, now=now)
    except IntegrityError:
        # Someone linked the same handle between our read and our insert: decide again on their row.
        with transaction.atomic():
            return _link(guild_id=int(guild_id), creator=creator, spec=spec, handle=normalised, now=now)


def _platform(platform: str) -> PlatformSpec:
    key = str(platform).strip().lower()
    if not registry.is_registered(key):
        names = ", ".join(spec.label for spec in registry.all_specs())
        raise ProfileRefused(f"{platform!r} is not a platform we track; use one of {names}.", code="platform")
    return registry.get(key)


def _link(*, guild_id: int, creator, spec: PlatformSpec, handle: str, now: datetime) -> Profile:
    profile = Profile.objects.for_guild(guild_id).select_for_update().filter(platform=spec.key, handle=handle).first()
    if profile is None:
        profile = Profile(guild_id=guild_id, creator=creator, platform=spec.key, handle=handle)
    elif profile.creator_id != creator.pk:
        if not _claimable(profile, now):
            raise ProfileRefused(
                f"@{handle} on {spec.label} is already linked by another member of this server. "
                "If it is yours, ask a moderator.",
                code="taken",
            )
        profile.creator = creator
        profile.platform_user_id = ""
    elif profile.is_verified:
        return profile
    profile.verification_status = V.UNVERIFIED
    profile.verification_code = new_verification_code()
    profile.verification_code_expires_at = now + timedelta(minutes=settings.PROFILE_VERIFICATION_CODE_TTL_MINUTES)
    profile.verification_reason = ""
    profile.save()
    return profile


def _claimable(profile: Profile, now: datetime) -> bool:
    """Another creator's link may be taken over only when it proves nothing and carries nothing."""
    if profile.verification_status in (V.VERIFIED, V.PENDING):
        return False
    live_code = profile.verification_code and _code_alive(profile, now)
    return not live_code and not profile.posts.exists()


def _code_alive(profile: Profile, now: datetime | None = None) -> bool:
    expires = profile.verification_code_expires_at
    return bool(profile.verification_code) and expires is not None and expires > (now or timezone.now())


def _locked(profile: Profile) -> Profile:
    """The current row, locked for the rest of the transaction (the caller's copy may be stale)."""
    return Profile.objects.for_guild(profile.guild_id).select_for_update().get(pk=profile.pk)


@transaction.atomic
def mark_verification_pending(*, profile: Profile) -> Profile:
    """Record that the bio check is about to run. A verified profile is returned unchanged.

    Raises ``ProfileRefused`` when there is no code (link first) or the code expired.
    """
    profile = _locked(profile)
    if profile.is_verified:
        return profile
    if not profile.verification_code:
        raise ProfileRefused("There is no code to check; run /link first.", code="no_code")
    if not _code_alive(profile):
        raise ProfileRefused(EXPIRED_MESSAGE, code="expired")
    profile.verification_status = V.PENDING
    profile.verification_reason = ""
    profile.save(update_fields=["verification_status", "verification_reason"])
    return profile


def bio_contains_code(bio: str, code: str) -> bool:
    """Whether ``bio`` shows ``code``: NFKC, case-insensitive, zero-width characters and dash look-alikes
    ignored (phones turn "-" into "–", copy-paste brings invisible joiners, some fonts are fullwidth)."""
    return bool(code) and _fold(code) in _fold(bio or "")


_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return _DASHES.sub("-", folded)


@transaction.atomic
def complete_verification(*, profile: Profile, item: ProfileItem, actor: str = "bio check") -> Profile:
    """Decide a verification from the scraped profile ``item``.

    The code in the bio → verified (platform_user_id stored, code cleared). Otherwise → failed with a
    reason saying what was found; an expired code → failed ("code expired"). The code stays usable
    after a failure while it lives, so the creator can fix the bio and ask again. Idempotent: an
    already-verified profile is returned unchanged. Queues a logs-channel message with the result.
    """
    profile = _locked(profile)
    if profile.is_verified:
        return profile
    code = profile.verification_code
    reason = _refusal(profile, item)
    if reason:
        return _fail(profile, reason=reason, code=code)
    profile.verification_status = V.VERIFIED
    profile.verified_at = timezone.now()
    profile.verified_by = actor[:100]
    profile.platform_user_id = (item.platform_user_id or profile.platform_user_id or "")[:64]
    profile.verification_code = ""
    profile.verification_code_expires_at = None
    profile.verification_reason = ""
    profile.save()
    _tell(profile, code=code, title=f"{_who(profile)} verified @{profile.handle} on {profile.get_platform_display()}")
    return profile


def _refusal(profile: Profile, item: ProfileItem) -> str:
    """Why ``item`` does not verify ``profile`` ("" when it does)."""
    code = profile.verification_code
    if not code:
        return "There was no verification code to look for; run /link for a new one."
    if not _code_alive(profile):
        return EXPIRED_REASON
    if item.error:
        return f"Could not read the profile @{profile.handle}: {item.error}"[:300]
    if item.handle and _fold(item.handle).lstrip("@") != profile.handle and not _same_account(profile, item):
        return f"The check found @{item.handle}, not @{profile.handle}."[:300]
    if not bio_contains_code(item.bio or "", code):
        empty = " (the bio is empty)" if not (item.bio or "").strip() else ""
        return f"The bio of @{profile.handle} does not contain {code}{empty}."
    return ""


def _same_account(profile: Profile, item: ProfileItem) -> bool:
    """The scraper may spell the account differently (a renamed handle, a page name for an id)."""
    ids = {profile.platform_user_id, profile.handle} - {""}
    return bool(item.platform_user_id) and item.platform_user_id in ids


@transaction.atomic
def fail_verification(*, profile: Profile, reason: str) -> Profile:
    """Mark the check failed with ``reason`` (the run failed, the profile is private...).

    A verified profile is returned unchanged; the code is kept while it lives so the creator can retry.
    Queues a logs-channel message once per code.
    """
    profile = _locked(profile)
    if profile.is_verified:
        return profile
    return _fail(profile, reason=reason, code=profile.verification_code)


def _fail(profile: Profile, *, reason: str, code: str) -> Profile:
    profile.verification_status = V.FAILED
    profile.verification_reason = reason[:300]
    profile.save(update_fields=["verification_status", "verification_reason"])
    _tell(
        profile,
        code=code,
        title=f"Verification of @{profile.handle} on {profile.get_platform_display()} failed for {_who(profile)}",
        body=profile.verification_reason,
    )
    return profile


def _who(profile: Profile) -> str:
    return f"@{profile.creator.username}"


def _tell(profile: Profile, *, code: str, title: str, body: str = "") -> None:
    queue_bot_event(
        event_type="verification.completed",
        payload={
            "profile_id": profile.pk,
            "discord_user_id": profile.creator.discord_user_id,
            "platform": profile.platform,
            "handle": profile.handle,
            "status": profile.verification_status,
            "reason": profile.verification_reason,
        },
        guild_id=profile.guild_id,
    )
    notify(
        guild_id=profile.guild_id,
        kind="verification",
        event_key=f"verification:{profile.pk}:{code or 'none'}",
        title=title,
        body=body,
    )


# --- staff ----------------------------------------------------------------------------------------


def _state(profile: Profile) -> dict[str, Any]:
    return {
        "verification_status": profile.verification_status,
        "verified_at": profile.verified_at.isoformat() if profile.verified_at else None,
        "verified_by": profile.verified_by,
        "verification_reason": profile.verification_reason,
        "creator_id": profile.creator_id,
        "handle": profile.handle,
        "platform": profile.platform,
    }


def staff_actor(staff_user) -> str:
    return f"staff:{staff_user.get_username()}"


@transaction.atomic
def staff_verify_profile(*, profile: Profile, staff_user, request=None) -> Profile:
    """A staff member vouches for the profile: verified by them, code cleared, audited (before/after).

    An already-verified profile is returned unchanged and nothing is written.
    """
    profile = _locked(profile)
    if profile.is_verified:
        return profile
    before = _state(profile)
    profile.verification_status = V.VERIFIED
    profile.verified_at = timezone.now()
    profile.verified_by = staff_actor(staff_user)[:100]
    profile.verification_code = ""
    profile.verification_code_expires_at = None
    profile.verification_reason = ""
    profile.save()
    _audit(profile, staff_user, action="profile.verify", before=before, request=request)
    return profile


@transaction.atomic
def staff_revoke_profile(*, profile: Profile, staff_user, reason: str, request=None) -> Profile:
    """Withdraw the profile's verification (its posts stay as they are), audited with before/after.

    The creator can prove ownership again with a new code (/link). A profile already revoked is
    returned unchanged and nothing is written. Raises ``ProfileRefused`` without a reason.
    """
    if not reason.strip():
        raise ProfileRefused("Say why the verification is revoked.", code="reason_required")
    profile = _locked(profile)
    if profile.verification_status == V.REVOKED:
        return profile
    before = _state(profile)
    profile.verification_status = V.REVOKED
    profile.verification_reason = reason.strip()[:300]
    profile.verified_at = None
    profile.verified_by = ""
    profile.verification_code = ""
    profile.verification_code_expires_at = None
    profile.save()
    _audit(profile, staff_user, action="profile.revoke", before=before, request=request)
    return profile


def _audit(profile: Profile, staff_user, *, action: str, before: dict, request) -> None:
    record_audit(
        guild_id=profile.guild_id,
        actor=staff_actor(staff_user),
        actor_user=staff_user,
        action=action,
        target_type="profile",
        target_id=profile.pk,
        before=before,
        after=_state(profile),
        request=request,
    )
