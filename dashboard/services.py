"""Writes the dashboard pages make of their own (post review goes through tracking.services)."""

from __future__ import annotations

from dashboard_auth.auth import DashboardIdentity
from guilds import services as guild_services
from guilds.models import GuildBudgetConfig


def update_budget_config(
    *, budget: GuildBudgetConfig, changes: dict[str, int], identity: DashboardIdentity, request=None
) -> list[str]:
    """The dashboard user's budget change: the same rules and audit as the API
    (guilds.services.update_budget_config). Raises guilds.services.BudgetRefused."""
    return guild_services.update_budget_config(
        budget=budget, changes=changes, actor=identity.actor, actor_user=identity.user, request=request
    )
