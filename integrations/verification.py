"""Running the bio check that proves a profile is the creator's (the scraping side of verification).

    request_verification(profile_id=p.pk)   TikTok / Instagram / X: an Apify profile run whose webhook
                                             is /api/webhooks/verify → process_verification_run;
                                             YouTube: channels.list right away; Facebook: staff only.

The decision itself (code in the bio or not) belongs to tracking.verification (complete_verification,
fail_verification); this module only fetches the profile and hands the scraped ProfileItem over.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from guilds.budgets import debit_budget
from integrations.apify.actors import actor_for, build_profile_input
from integrations.apify.normalize import ProfileItem, normalize_profile
from integrations.apify.runs import (
    StartRefused,
    StartUnknown,
    call_start,
    fetch_initiated_run,
    record_run_started,
    record_start_refused,
    record_start_unknown,
    reserve_run,
)
from integrations.errors import FeatureDisabled, IntegrationError
from integrations.models import ApifyRunRegistry
from integrations.youtube.client import YouTubeClient, youtube_client
from tracking.models import Profile
from tracking.platforms import Platform, registry
from tracking.verification import complete_verification, fail_verification, mark_verification_pending

log = structlog.get_logger(__name__)

Run = ApifyRunRegistry


class VerificationUnavailable(Exception):
    """The check cannot run now or for this platform. ``message`` is meant for the creator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def request_verification(*, profile_id: int, now: datetime | None = None, client: YouTubeClient | None = None) -> str:
    """Start the bio check of ``profile_id`` and return the profile's verification status after it:
    "pending" while an Apify run works (the webhook decides), "verified"/"failed" for YouTube (decided
    now), "failed" when Apify refused to start the run.

    Raises VerificationUnavailable for Facebook (staff verify those in admin), when today's budget is
    spent, or when the platform's key is not configured; ProfileRefused (tracking.verification) when
    there is no live code. ``client`` replaces the settings-built YouTube client (tests).
    """
    now = now or timezone.now()
    with rls_bypass(reason="verification profile lookup"):
        profile = Profile.objects.filter(pk=profile_id).first()
    if profile is None:
        raise VerificationUnavailable(f"There is no profile #{profile_id}.")
    spec = registry.get(profile.platform)
    if spec.verification == "staff":
        raise VerificationUnavailable(
            f"{spec.label} profiles cannot be checked automatically: staff verify them in the admin "
            "(Profiles → select the profile → “Verify”). Ask a moderator."
        )
    if spec.verification == "youtube_api":
        return _verify_youtube(profile, now, client)
    return _start_profile_run(profile, now)


def _verify_youtube(profile: Profile, now: datetime, client: YouTubeClient | None) -> str:
    try:
        client = client or youtube_client()
    except FeatureDisabled as exc:
        raise VerificationUnavailable("YouTube checks are switched off on this server (no YouTube key).") from exc
    with guild_scope(profile.guild_id), transaction.atomic():  # reserve: pending and the unit, or neither
        profile = mark_verification_pending(profile=profile)
        if profile.is_verified:
            return profile.verification_status
        if not debit_budget(guild=profile.guild_id, kind="youtube_units", now=now):
            raise VerificationUnavailable("Today's YouTube budget is spent; try again tomorrow.")
    try:
        channel = client.fetch_channel_description(handle=profile.handle)
    except IntegrationError as exc:
        if not exc.permanent:
            raise VerificationUnavailable("YouTube did not answer; try again in a few minutes.") from exc
        reason = (
            f"YouTube has no channel @{profile.handle}."
            if exc.code == "notFound"
            else f"YouTube refused the check: {exc.message}"
        )
        with guild_scope(profile.guild_id):
            return fail_verification(profile=profile, reason=reason).verification_status
    item = ProfileItem(
        platform=Platform.YOUTUBE,
        platform_user_id=channel.channel_id or None,
        handle=(channel.handle or "").lstrip("@") or None,
        bio=channel.description,
    )
    with guild_scope(profile.guild_id):
        return complete_verification(profile=profile, item=item).verification_status


def _start_profile_run(profile: Profile, now: datetime) -> str:
    actor = actor_for(platform=profile.platform, purpose="verification", settings_obj=settings)
    if not settings.APIFY_API_TOKEN:
        raise VerificationUnavailable("Profile checks are switched off on this server (no Apify key).")
    with guild_scope(profile.guild_id):
        run_input = build_profile_input(platform=profile.platform, handle=profile.handle)
        with transaction.atomic():  # reserve: pending, the registry row and the run, or none of them
            profile = mark_verification_pending(profile=profile)
            if profile.is_verified:
                return profile.verification_status
            run = reserve_run(
                guild_id=profile.guild_id,
                purpose=Run.Purpose.VERIFICATION,
                platform=profile.platform,
                actor_id=actor,
                run_input=run_input,
                now=now,
                profile_id=profile.pk,
            )
            if run is None:
                raise VerificationUnavailable("Today's scraping budget is spent; try the check again tomorrow.")
        try:
            info = call_start(run=run, run_input=run_input, now=now)
        except StartRefused as refused:
            with transaction.atomic():
                record_start_refused(
                    run=run, reason=f"Apify refused to start the profile check: {refused.reason}", now=now
                )
                reason = "The profile check could not start; try again in a few minutes."
                return fail_verification(profile=profile, reason=reason).verification_status
        except StartUnknown as unknown:  # the reconciler finds the run, or fails the check with the reason
            record_start_unknown(run=run, reason=unknown.reason)
            return profile.verification_status
        record_run_started(run=run, info=info)
    log.info("verification_run_started", run=run.pk, profile=profile.pk, apify_run_id=info.run_id)
    return profile.verification_status


def process_verification_run(*, registry_id: int) -> str | None:
    """Fetch a finished verification run and decide the profile from it. Idempotent: a run no longer
    ``initiated`` is left alone. Returns the profile's status, or None when there was nothing to do."""
    fetched = fetch_initiated_run(registry_id=registry_id, purpose=Run.Purpose.VERIFICATION)
    if fetched is None:
        return None
    run, info, raw = fetched
    with guild_scope(run.guild_id), transaction.atomic():
        locked = Run.objects.for_guild(run.guild_id).select_for_update().filter(pk=run.pk).first()
        if locked is None or locked.status != Run.Status.INITIATED or locked.profile_id is None:
            return None
        profile = Profile.objects.for_guild(run.guild_id).get(pk=locked.profile_id)
        ok = info.succeeded
        Run.objects.for_guild(run.guild_id).filter(pk=run.pk).update(
            status=Run.Status.SUCCEEDED if ok else Run.Status.FAILED,
            finished_at=info.finished_at or timezone.now(),
            dataset_id=info.dataset_id or "",
            item_count=len(raw),
            status_message="" if ok else f"Apify run {info.status.lower()}: {info.status_message or ''}"[:500],
        )
        if not ok:
            reason = f"The profile check did not finish ({info.status.lower()}); try again."
            return fail_verification(profile=profile, reason=reason).verification_status
        item = _pick_profile(profile, raw)
        if item is None:
            reason = f"The profile check found no profile @{profile.handle} (private, renamed or deleted?)."
            return fail_verification(profile=profile, reason=reason).verification_status
        return complete_verification(profile=profile, item=item).verification_status


def _pick_profile(profile: Profile, raw: list) -> ProfileItem | None:
    """The dataset's item for this handle, else its first readable profile, else its first error."""
    items = [normalize_profile(platform=profile.platform, item=i) for i in raw]
    good = [i for i in items if i.ok]
    for item in good:
        if (item.handle or "").lstrip("@").lower() == profile.handle.lower():
            return item
    return good[0] if good else (items[0] if items else None)


def fail_expired_verification(
    *, run: ApifyRunRegistry, reason: str = "The profile check never finished; try again."
) -> None:
    """A verification run that will never decide (it failed, or was never started): the pending
    check fails with ``reason``, which the creator sees."""
    with guild_scope(run.guild_id):
        profile = Profile.objects.for_guild(run.guild_id).filter(pk=run.profile_id).first()
        if profile is not None and profile.verification_status == Profile.Verification.PENDING:
            fail_verification(profile=profile, reason=reason)
