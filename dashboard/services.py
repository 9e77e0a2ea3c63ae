"""Writes the dashboard pages make of their own (post review goes through tracking.services)."""

from __future__ import annotations

from django.db import transaction
from django.forms import model_to_dict

from dashboard.forms import BUDGET_FIELDS
from dashboard_auth.auth import DashboardIdentity
from dashboard_auth.services import record_audit
from guilds.models import GuildBudgetConfig


@transaction.atomic
def update_budget_config(
    *, budget: GuildBudgetConfig, changes: dict[str, int], identity: DashboardIdentity, request=None
) -> list[str]:
    """Apply validated ``changes`` to the guild's budget row and audit them (before/after of the
    changed fields only). Returns the changed field names; nothing changed → nothing written or
    audited. The caller checks the user may administer the guild and validates the values."""
    before = model_to_dict(budget, fields=BUDGET_FIELDS)
    changed = [name for name in BUDGET_FIELDS if name in changes and changes[name] != before[name]]
    if not changed:
        return []
    for name in changed:
        setattr(budget, name, changes[name])
    budget.save(update_fields=[*changed, "updated_at"])
    record_audit(
        guild_id=budget.guild_id,
        actor=identity.actor,
        actor_user=identity.user,
        action="budget.update",
        target_type="guild_budget_config",
        target_id=budget.guild_id,
        before={name: before[name] for name in changed},
        after={name: changes[name] for name in changed},
        request=request,
    )
    return changed
