"""Weekly bonus rules: creating, changing and deleting them, audited, with one set of rules for the
dashboard form and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django.db import IntegrityError, transaction

from core.values import FieldsRefused, flag, json_safe, money, whole_number
from guilds.audit import record_audit
from guilds.models import BonusRule

BONUS_RULE_FIELDS: tuple[str, ...] = ("name", "kind", "min_views_gained", "place", "amount", "currency", "active")
BONUS_TOP_PLACES = 100
_BONUS_DEFAULTS = {"currency": "USD", "active": True, "min_views_gained": None, "place": None}


class BonusRuleRefused(FieldsRefused):
    """A bonus rule we refuse to create, change or delete."""


def _rule_name(value: Any) -> str:
    text = " ".join(str(value or "").split())
    if not text or len(text) > 100:
        raise ValueError("Give the rule a name of 1 to 100 characters.")
    return text


def _rule_kind(value: Any) -> str:
    if value not in BonusRule.Kind.values:
        raise ValueError("Choose threshold (a view-gain threshold) or top_n (a place in the week's top N).")
    return value


def _currency(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) != 3 or not text.isascii() or not text.isalpha():
        raise ValueError("Use a three-letter currency code such as USD.")
    return text.upper()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _rule_kind_fields(values: dict[str, Any], problems: dict[str, str]) -> None:
    """threshold needs min_views_gained ≥ 1, top_n needs place 1..100; the other kind's field is cleared."""
    if values.get("kind") == BonusRule.Kind.THRESHOLD:
        values["place"] = None
        if _blank(values.get("min_views_gained")):
            problems["min_views_gained"] = "A threshold rule needs min_views_gained (at least 1 view)."
        else:
            _clean_into(values, problems, "min_views_gained", lambda v: whole_number(v, low=1, high=10**15))
    elif values.get("kind") == BonusRule.Kind.TOP_N:
        values["min_views_gained"] = None
        if _blank(values.get("place")):
            problems["place"] = "A top-N rule needs place (1 = first)."
        else:
            _clean_into(values, problems, "place", lambda v: whole_number(v, low=1, high=BONUS_TOP_PLACES))


def _clean_into(values: dict[str, Any], problems: dict[str, str], name: str, clean: Callable[[Any], Any]) -> None:
    try:
        values[name] = clean(values.get(name))
    except ValueError as error:
        problems[name] = str(error)


def clean_bonus_rule(*, guild_id: int, data: dict[str, Any], rule: BonusRule | None = None) -> dict[str, Any]:
    """The rule's complete, normalised values: ``data`` over the stored rule (or the defaults for a
    new one). Raises BonusRuleRefused naming every bad field, including a name another rule of the
    guild already has."""
    problems = {name: "Not a bonus rule field." for name in data if name not in BONUS_RULE_FIELDS}
    current = {n: getattr(rule, n) for n in BONUS_RULE_FIELDS} if rule else dict(_BONUS_DEFAULTS)
    values = {**current, **{k: v for k, v in data.items() if k in BONUS_RULE_FIELDS}}
    given = set(data) if rule is not None else set(BONUS_RULE_FIELDS)  # stored values stay as they are
    cleaners = {"name": _rule_name, "kind": _rule_kind, "amount": lambda v: money(v, high_digits=8)}
    for name, clean in {**cleaners, "currency": _currency, "active": flag}.items():
        if name not in values:
            problems[name] = "Required."
        elif name in given:
            _clean_into(values, problems, name, clean)
    _rule_kind_fields(values, problems)
    if "name" in given and "name" not in problems:
        clash = BonusRule.objects.for_guild(guild_id).filter(name=values["name"])
        if rule is not None:
            clash = clash.exclude(pk=rule.pk)
        if clash.exists():
            problems["name"] = "Another bonus rule already has this name."
    if problems:
        raise BonusRuleRefused(problems)
    return {n: values[n] for n in BONUS_RULE_FIELDS}


@transaction.atomic
def save_bonus_rule(
    *,
    guild_id: int,
    rule: BonusRule | None = None,
    data: dict[str, Any],
    actor: str,
    actor_user=None,
    request=None,
) -> BonusRule:
    """Create a bonus rule (``rule`` None) or change ``rule`` with ``data`` (a partial update), and
    audit it (bonus_rule.create with after; bonus_rule.update with before/after of the changed fields;
    no change: nothing written or audited). Raises BonusRuleRefused (nothing written). The caller
    checks that the actor may administer the guild and runs in the guild's scope."""
    if rule is not None and rule.guild_id != guild_id:
        raise BonusRule.DoesNotExist("No such bonus rule in this guild.")
    values = clean_bonus_rule(guild_id=guild_id, data=data, rule=rule)
    if rule is None:
        try:
            with transaction.atomic():  # a concurrent twin with the same name: a message, not a 500
                rule = BonusRule.objects.create(guild_id=guild_id, **values)
        except IntegrityError:
            raise BonusRuleRefused({"name": "Another bonus rule already has this name."}) from None
        before, after = None, {n: json_safe(values[n]) for n in BONUS_RULE_FIELDS}
        action = "bonus_rule.create"
    else:
        changed = [n for n in BONUS_RULE_FIELDS if values[n] != getattr(rule, n)]
        if not changed:
            return rule
        before = {n: json_safe(getattr(rule, n)) for n in changed}
        for name in changed:
            setattr(rule, name, values[name])
        try:
            with transaction.atomic():
                rule.save(update_fields=changed)
        except IntegrityError:
            raise BonusRuleRefused({"name": "Another bonus rule already has this name."}) from None
        after = {n: json_safe(values[n]) for n in changed}
        action = "bonus_rule.update"
    record_audit(
        guild_id=guild_id,
        actor=actor,
        actor_user=actor_user,
        action=action,
        target_type="bonus_rule",
        target_id=rule.pk,
        before=before,
        after=after,
        request=request,
    )
    return rule


RULE_DEACTIVATED = "This rule has awards, so it was deactivated instead of deleted; its past awards are kept."


@transaction.atomic
def delete_bonus_rule(
    *, guild_id: int, rule: BonusRule, actor: str, actor_user=None, request=None
) -> Literal["deleted", "deactivated"]:
    """Delete ``rule``, or, when creators were awarded under it, deactivate it instead (awards keep
    their rule; RULE_DEACTIVATED says so to the user). Audited as bonus_rule.delete (before) or
    bonus_rule.deactivate (before/after of active). An inactive awarded rule stays as it is and
    nothing is written. The caller checks that the actor may administer the guild."""
    if rule.guild_id != guild_id:
        raise BonusRule.DoesNotExist("No such bonus rule in this guild.")
    who = {"guild_id": guild_id, "actor": actor, "actor_user": actor_user, "request": request}
    if rule.awards.exists():  # the awards (metrics) point at their rule
        if rule.active:
            rule.active = False
            rule.save(update_fields=["active"])
            record_audit(
                **who,
                action="bonus_rule.deactivate",
                target_type="bonus_rule",
                target_id=rule.pk,
                before={"active": True},
                after={"active": False},
            )
        return "deactivated"
    before = {n: json_safe(getattr(rule, n)) for n in BONUS_RULE_FIELDS}
    pk = rule.pk
    rule.delete()
    rule.pk = pk  # callers may still name it
    record_audit(**who, action="bonus_rule.delete", target_type="bonus_rule", target_id=pk, before=before)
    return "deleted"
