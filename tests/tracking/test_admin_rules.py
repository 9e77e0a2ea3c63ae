"""Staff edits in Django admin follow the API's rules: a post's who/where/status/numbers are read-only
(status moves only through the review actions), budgets keep the API's bounds, bonus amounts and run
statuses cannot be edited, every change is audited, and guilds, posts and users are deactivated or
rejected rather than deleted (their audit trail is append-only) — on PostgreSQL as the app role too."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.urls import reverse

from dashboard_auth.sessions import session_is_active, start_session
from guilds.budgets import budget_for
from guilds.models import DashboardAuditLog, Guild
from metrics.models import BonusAward
from tests.factories import make_bonus_rule, make_creator, make_post
from tracking.models import Post, PostStatusChange

pytestmark = pytest.mark.django_db


def form_data(response) -> dict:
    """What the browser would post back: every field's current value plus the inline management forms."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = str(management[name].value() or 0)
        for index, inline_form in enumerate(inline.formset.forms):
            data[f"{inline.formset.prefix}-{index}-id"] = str(inline_form.instance.pk)
            data[f"{inline.formset.prefix}-{index}-post"] = str(inline_form.instance.post_id)
    return data


def audit_actions(bypass) -> list[tuple[str, str]]:
    with bypass():
        return list(DashboardAuditLog.objects.order_by("id").values_list("action", "actor"))


def test_a_posts_status_numbers_guild_and_creator_cannot_be_edited(staff_client, guild, other_guild, bypass):
    post = make_post(guild, views=1000)
    creator_id = post.creator_id
    url = reverse("admin:tracking_post_change", args=[post.pk])
    data = form_data(staff_client.get(url))
    other_creator = make_creator(other_guild)
    data.update(status="finalized", views="999999", guild=str(other_guild.pk), creator=str(other_creator.pk))
    data["caption"] = "fixed typo"
    r = staff_client.post(url, data)
    assert r.status_code == 302, r.content.decode()[:2000]
    with bypass():
        post.refresh_from_db()
        assert (post.status, post.views, post.guild_id, post.creator_id) == ("tracking", 1000, guild.pk, creator_id)
        assert post.caption == "fixed typo"
        assert not PostStatusChange.objects.filter(post=post).exists()
        entry = DashboardAuditLog.objects.get(action="admin.post.change")
    assert (entry.actor, entry.guild_id, entry.after["caption"]) == ("staff:staff", guild.pk, "fixed typo")
    assert {"status", "views", "guild", "creator"}.isdisjoint(entry.after)


def test_a_post_status_changes_only_through_the_review_action_with_history(staff_client, guild, bypass):
    post = make_post(guild)
    r = staff_client.post(
        reverse("admin:tracking_post_changelist"),
        {"action": "finalize_selected", ACTION_CHECKBOX_NAME: [str(post.pk)]},
        follow=True,
    )
    assert r.status_code == 200
    with bypass():
        assert Post.objects.get(pk=post.pk).status == "finalized"
        change = PostStatusChange.objects.get(post=post)
    assert (change.from_status, change.to_status, change.actor) == ("tracking", "finalized", "staff:staff")


def test_budget_edits_keep_the_apis_bounds_and_are_audited(staff_client, guild, bypass):
    with bypass():
        budget = budget_for(guild)
    url = reverse("admin:guilds_guildbudgetconfig_change", args=[budget.pk])
    data = form_data(staff_client.get(url))
    r = staff_client.post(url, {**data, "daily_apify_run_limit": "99999999"})
    assert r.status_code == 200  # the form again, with the API's message
    assert "Must be a whole number from 0 to 10,000." in r.content.decode()
    r = staff_client.post(url, {**data, "daily_apify_run_limit": "42"})
    assert r.status_code == 302
    with bypass():
        assert budget_for(guild).daily_apify_run_limit == 42
        entry = DashboardAuditLog.objects.get(action="budget.update")
    assert entry.actor == "staff:staff" and entry.after == {"daily_apify_run_limit": 42}


def test_bonus_award_amounts_are_read_only(staff_client, guild, bypass):
    creator = make_creator(guild)
    with bypass():
        award = BonusAward.objects.create(
            guild=guild,
            creator=creator,
            rule=make_bonus_rule(guild),
            week_start=date(2026, 11, 16),
            views_gained=5000,
            amount=Decimal("25.00"),
        )
    url = reverse("admin:metrics_bonusaward_change", args=[award.pk])
    data = form_data(staff_client.get(url))
    staff_client.post(url, {**data, "amount": "9999.00", "views_gained": "1"})
    with bypass():
        award.refresh_from_db()
    assert (award.amount, award.views_gained) == (Decimal("25.00"), 5000)


def test_run_statuses_cannot_be_changed(staff_client, guild):
    url = reverse("admin:integrations_apifyrunregistry_add")
    assert staff_client.post(url, {"status": "succeeded"}).status_code == 403


def test_adding_a_creator_in_admin_is_audited(staff_client, guild, bypass):
    url = reverse("admin:guilds_creator_add")
    r = staff_client.post(url, {"guild": str(guild.pk), "discord_user_id": "1300000000000000042", "username": "kai"})
    assert r.status_code == 302, r.content.decode()[:1500]
    assert ("admin.creator.add", "staff:staff") in audit_actions(bypass)


@pytest.mark.parametrize("model", ["guilds_guild", "tracking_post", "auth_user"])
def test_guilds_posts_and_users_cannot_be_hard_deleted_in_admin(staff_client, guild, model):
    obj = {"guilds_guild": guild, "tracking_post": make_post(guild)}.get(model)
    if obj is None:
        obj = get_user_model().objects.create_user("someone", password="pw")
    assert staff_client.get(reverse(f"admin:{model}_delete", args=[obj.pk])).status_code == 403


def test_deactivating_a_guild_works_under_the_app_role_and_is_audited(staff_client, guild, bypass):
    make_post(guild)  # a guild with posts and status history: a hard delete would hit the audit trail
    r = staff_client.post(
        reverse("admin:guilds_guild_changelist"),
        {"action": "deactivate_selected", ACTION_CHECKBOX_NAME: [str(guild.pk)]},
        follow=True,
    )
    assert r.status_code == 200 and "1 deactivated." in [str(m) for m in r.context["messages"]]
    with bypass():
        assert Guild.objects.get(pk=guild.pk).active is False
        assert Post.objects.filter(guild=guild).count() == 1
    assert ("admin.guild.deactivate", "staff:staff") in audit_actions(bypass)


def test_deactivating_a_user_ends_their_sessions_and_is_audited(staff_client, bypass):
    user = get_user_model().objects.create_user("leaver", password="pw")
    session = start_session(user=user).session
    r = staff_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "deactivate_selected", ACTION_CHECKBOX_NAME: [str(user.pk)]},
        follow=True,
    )
    assert r.status_code == 200
    user.refresh_from_db()
    assert user.is_active is False
    assert session_is_active(session_id=session.pk, user_id=user.pk) is False
    assert ("admin.user.deactivate", "staff:staff") in audit_actions(bypass)
