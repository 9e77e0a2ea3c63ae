"""Writing a campaign (a client account's paid brief): one service for the API and the admin pages,
validated by the model's own rules, audited, and never half-written."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.values import FieldsRefused, json_safe
from guilds.audit import record_audit
from tracking.caption_rules import banned_words, required_tags
from tracking.models import Campaign, ClientAccount

CAMPAIGN_FIELDS = (
    "client_account_id",
    "name",
    "status",
    "starts_at",
    "ends_at",
    "currency",
    "total_budget",
    "rate_per_1000",
    "platform_rates",
    "post_cap",
    "creator_cap",
    "min_views",
    "counting_window_days",
    "validation_window_days",
    "eligible_platforms",
    "required_tags",
    "banned_words",
    "baseline",
    "on_disappear",
)


class CampaignRefused(FieldsRefused):
    """The campaign cannot be saved as given (per-field messages)."""


def save_campaign(
    *, guild_id: int, campaign: Campaign | None, data: dict[str, Any], actor: str, actor_user=None, request=None
) -> Campaign:
    """Create (``campaign`` None) or partially update a campaign from validated ``data`` and audit it
    (campaign.create / campaign.update with the changed fields). Raises CampaignRefused: a client
    account that is not this guild's, an end before the start, a name already used in the guild, or
    any model rule. Nothing is written on a refusal; no change writes and audits nothing. Required tags
    and banned words are normalised as a client account's are (tracking.caption_rules)."""
    data = {name: value for name, value in data.items() if name in CAMPAIGN_FIELDS}
    problems = {}
    for name, normalise in (("required_tags", required_tags), ("banned_words", banned_words)):
        if name in data:
            try:
                data[name] = normalise(data[name])
            except ValueError as error:
                problems[name] = str(error)
    if problems:
        raise CampaignRefused(problems)
    account_id = data.get("client_account_id")
    if account_id is not None and not ClientAccount.objects.for_guild(guild_id).filter(pk=account_id).exists():
        raise CampaignRefused({"client_account_id": "No such client account in this server."})
    if campaign is None and account_id is None:
        raise CampaignRefused({"client_account_id": "Name the client account this campaign is for."})
    target = campaign or Campaign(guild_id=guild_id)
    before = {n: json_safe(getattr(target, n)) for n in data} if campaign else None
    for name, value in data.items():
        setattr(target, name, value)
    changed = [n for n in data if before is None or before[n] != json_safe(getattr(target, n))]
    if campaign is not None and not changed:
        return campaign
    _validate(target)
    try:
        with transaction.atomic():
            target.save()
            after = {n: json_safe(getattr(target, n)) for n in changed}
            record_audit(
                guild_id=guild_id,
                actor=actor,
                actor_user=actor_user,
                action="campaign.update" if campaign else "campaign.create",
                target_type="campaign",
                target_id=target.pk,
                before={n: before[n] for n in changed} if before else None,
                after=after,
                request=request,
            )
    except IntegrityError:
        raise CampaignRefused({"name": "Another campaign in this server already has this name."}) from None
    return target


def _validate(campaign: Campaign) -> None:
    if campaign.ends_at is not None and campaign.starts_at is not None and campaign.ends_at <= campaign.starts_at:
        raise CampaignRefused({"ends_at": "The end must be after the start."})
    try:
        campaign.full_clean(exclude=["guild", "client_account"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise CampaignRefused({k: " ".join(v) for k, v in error.message_dict.items()}) from None


def open_campaign_for(*, account: ClientAccount, actor: str, actor_user=None, request=None) -> Campaign:
    """The campaign a new client account starts with, so posts can be submitted to it at once: named
    after the account (a number is added when another campaign has that name), active when the account
    is (else a draft), paying the account's ``cpm_rate`` per 1,000 views in USD over its counting
    window, with its required tags and banned words; everything else is the campaign defaults
    (validation window 3 days, no budget or caps, views gained since submission, keep on disappear).
    Audited as campaign.create; edit it (currency, budget, caps) like any campaign afterwards."""
    taken = set(
        Campaign.objects.for_guild(account.guild_id)
        .filter(name__startswith=account.name[:90])
        .values_list("name", flat=True)
    )
    name, n = account.name, 1
    while name in taken:
        n += 1
        name = f"{account.name[:90]} ({n})"
    data = {
        "client_account_id": account.pk,
        "name": name,
        "status": Campaign.Status.ACTIVE if account.active else Campaign.Status.DRAFT,
        "currency": "USD",
        "rate_per_1000": account.cpm_rate,
        "counting_window_days": account.counting_window_days,
        "required_tags": list(account.required_tags),
        "banned_words": list(account.banned_words),
    }
    return save_campaign(
        guild_id=account.guild_id, campaign=None, data=data, actor=actor, actor_user=actor_user, request=request
    )
