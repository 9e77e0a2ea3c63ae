"""Client accounts (the brands posts promote): creating and changing them, audited, with one set of
rules for the dashboard form and the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from core.values import FieldsRefused, flag, json_safe, money, whole_number
from guilds.audit import record_audit
from tracking.campaigns import CampaignRefused, open_campaign_for
from tracking.caption_rules import banned_words, required_tags
from tracking.models import ClientAccount
from tracking.platforms import registry
from tracking.post_urls import HandleError, parse_profile_handle

CLIENT_ACCOUNT_FIELDS: tuple[str, ...] = (
    "name",
    "social_accounts",
    "payout_model",
    "cpm_rate",
    "required_tags",
    "banned_words",
    "counting_window_days",
    "active",
)
COUNTING_WINDOW_DAYS = (1, 365)
_CLIENT_DEFAULTS: dict[str, Any] = {
    "social_accounts": {},
    "payout_model": ClientAccount.PayoutModel.CPM,
    "cpm_rate": Decimal("0.00"),
    "required_tags": [],
    "banned_words": [],
    "counting_window_days": 30,
    "active": True,
}


class ClientAccountRefused(FieldsRefused):
    """A client account we refuse to create or change; ``fields`` says why per field."""


def _social_accounts(value: Any, problems: dict[str, str]) -> dict[str, str]:
    """{platform: handle}, each handle normalised as a creator's would be (parse_profile_handle);
    empty handles drop the platform. Problems are reported as ``social_accounts.<platform>``."""
    if not isinstance(value, dict):
        problems["social_accounts"] = 'Give the social accounts as {"platform": "handle"}.'
        return {}
    accounts = {}
    for platform, handle in value.items():
        key = f"social_accounts.{platform}"
        if not registry.is_registered(platform):
            problems[key] = f"Unknown platform; use one of {', '.join(registry.keys())}."
        elif not isinstance(handle, str):
            problems[key] = "The handle must be text, like @brand."
        elif handle.strip():
            try:
                accounts[platform] = parse_profile_handle(platform, handle)
            except HandleError as error:
                problems[key] = error.message
    return {p: accounts[p] for p in registry.keys() if p in accounts}


def _client_name(value: Any) -> str:
    text = " ".join(str(value or "").split())
    if not text or len(text) > 100:
        raise ValueError("Give the client account a name of 1 to 100 characters.")
    return text


def _payout_model(value: Any) -> str:
    if value not in ClientAccount.PayoutModel.values:
        raise ValueError("Choose cpm (paid per thousand views) or bonus (paid by the bonus rules).")
    return value


_CLIENT_CLEANERS = {
    "name": _client_name,
    "payout_model": _payout_model,
    "cpm_rate": lambda v: money(v, high_digits=6),
    "required_tags": required_tags,
    "banned_words": banned_words,
    "counting_window_days": lambda v: whole_number(v, low=COUNTING_WINDOW_DAYS[0], high=COUNTING_WINDOW_DAYS[1]),
    "active": flag,
}


def clean_client_account(
    *, guild_id: int, data: dict[str, Any], account: ClientAccount | None = None
) -> dict[str, Any]:
    """The account's complete, normalised values: ``data`` over the stored account (or the defaults
    for a new one). Raises ClientAccountRefused naming every bad field, including a name another
    client account of the guild already has."""
    problems = {name: "Not a client account field." for name in data if name not in CLIENT_ACCOUNT_FIELDS}
    current = {n: getattr(account, n) for n in CLIENT_ACCOUNT_FIELDS} if account else dict(_CLIENT_DEFAULTS)
    values = {**current, **{k: v for k, v in data.items() if k in CLIENT_ACCOUNT_FIELDS}}
    given = set(data) if account is not None else set(CLIENT_ACCOUNT_FIELDS)  # stored values stay as they are
    for name, clean in _CLIENT_CLEANERS.items():
        if name in given:
            try:
                values[name] = clean(values.get(name))
            except ValueError as error:
                problems[name] = str(error)
    if "social_accounts" in given:
        values["social_accounts"] = _social_accounts(values.get("social_accounts"), problems)
    if "name" in given and "name" not in problems:
        clash = ClientAccount.objects.for_guild(guild_id).filter(name=values["name"])
        if account is not None:
            clash = clash.exclude(pk=account.pk)
        if clash.exists():
            problems["name"] = "Another client account already has this name."
    if problems:
        raise ClientAccountRefused(problems)
    return {n: values[n] for n in CLIENT_ACCOUNT_FIELDS}


@transaction.atomic
def save_client_account(
    *,
    guild_id: int,
    account: ClientAccount | None = None,
    data: dict[str, Any],
    actor: str,
    actor_user=None,
    request=None,
) -> ClientAccount:
    """Create a client account (``account`` None) or change ``account`` with ``data`` (a partial
    update), and audit it (client_account.create with after; client_account.update with before/after
    of the changed fields; no change: nothing written or audited). Raises ClientAccountRefused
    (nothing written). The caller checks that the actor may administer the guild and runs in the
    guild's scope. A changed counting window applies to posts submitted from now on. A new account
    gets its campaign in the same transaction (tracking.campaigns.open_campaign_for), so posts can be
    submitted to it at once."""
    if account is not None and account.guild_id != guild_id:
        raise ClientAccount.DoesNotExist("No such client account in this guild.")
    values = clean_client_account(guild_id=guild_id, data=data, account=account)
    clash = ClientAccountRefused({"name": "Another client account already has this name."})
    if account is None:
        try:
            with transaction.atomic():  # a concurrent twin with the same name: a message, not a 500
                account = ClientAccount.objects.create(guild_id=guild_id, **values)
        except IntegrityError:
            raise clash from None
        before, after, action = None, {n: json_safe(values[n]) for n in values}, "client_account.create"
    else:
        changed = [n for n in CLIENT_ACCOUNT_FIELDS if values[n] != getattr(account, n)]
        if not changed:
            return account
        before = {n: json_safe(getattr(account, n)) for n in changed}
        for name in changed:
            setattr(account, name, values[name])
        try:
            with transaction.atomic():
                account.save(update_fields=changed)
        except IntegrityError:
            raise clash from None
        after, action = {n: json_safe(values[n]) for n in changed}, "client_account.update"
    record_audit(
        guild_id=guild_id,
        actor=actor,
        actor_user=actor_user,
        action=action,
        target_type="client_account",
        target_id=account.pk,
        before=before,
        after=after,
        request=request,
    )
    if action == "client_account.create":
        _open_campaign(account, actor=actor, actor_user=actor_user, request=request)
    return account


def _open_campaign(account: ClientAccount, **who: Any) -> None:
    try:
        with transaction.atomic():
            open_campaign_for(account=account, **who)
    except CampaignRefused as refused:  # e.g. a concurrent campaign took the name: say so, write nothing
        raise ClientAccountRefused(
            {"name": f"Could not open the account's campaign: {' '.join(refused.fields.values())}"}
        ) from None
