"""Staff actions in Django admin: verify / revoke profiles, approve / reject / finalize posts — audited."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from guilds.models import DashboardAuditLog
from tests.factories import make_post, make_profile
from tracking.models import FraudSignal, Post, Profile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("screenshots_in_tmp")]
V = Profile.Verification


def run_action(client, model: str, action: str, pks) -> list[str]:
    url = reverse(f"admin:tracking_{model}_changelist")
    r = client.post(url, {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks]}, follow=True)
    assert r.status_code == 200
    return [str(m) for m in r.context["messages"]]


def audit_rows(bypass):
    with bypass():
        return list(DashboardAuditLog.objects.order_by("id").values_list("action", "actor", "target_id", "guild_id"))


def test_staff_verify_selected_profiles(staff_client, guild, other_guild, bypass):
    mine = make_profile(guild, handle="maya", verification_status=V.FAILED, verified_at=None)
    theirs = make_profile(other_guild, handle="leo", verification_status=V.UNVERIFIED, verified_at=None)
    done = make_profile(guild, handle="old")

    messages = run_action(staff_client, "profile", "verify_selected", [mine.pk, theirs.pk, done.pk])

    assert messages == ["2 verified. 1 already verified or unchanged."]
    with bypass():
        assert set(Profile.objects.values_list("verification_status", flat=True)) == {V.VERIFIED}
        assert Profile.objects.get(pk=mine.pk).verified_by == "staff:staff"
    assert sorted(audit_rows(bypass)) == sorted(
        [
            ("profile.verify", "staff:staff", str(mine.pk), guild.id),
            ("profile.verify", "staff:staff", str(theirs.pk), other_guild.id),
        ]
    )


def test_staff_revoke_selected_profiles(staff_client, guild, bypass):
    profile = make_profile(guild, handle="maya")

    messages = run_action(staff_client, "profile", "revoke_selected", [profile.pk])

    assert messages == ["1 revoked."]
    with bypass():
        profile.refresh_from_db()
        entry = DashboardAuditLog.objects.get()
    assert (profile.verification_status, profile.verification_reason) == (V.REVOKED, "revoked by staff")
    assert (entry.action, entry.before["verification_status"], entry.after["verification_status"]) == (
        "profile.revoke",
        "verified",
        "revoked",
    )
    assert entry.actor_user.username == "staff" and entry.ip == "127.0.0.1"


def test_staff_approve_reject_finalize_posts(staff_client, guild, bypass):
    flagged = make_post(guild, status=Post.Status.FLAGGED)
    tracking = make_post(guild, status=Post.Status.SUBMITTED)
    with bypass():
        FraudSignal.objects.create(guild=guild, post=flagged, kind=FraudSignal.Kind.CAPTION, reason="caption")

    assert run_action(staff_client, "post", "approve_selected", [flagged.pk, tracking.pk]) == [
        "1 approved.",
        f"{tracking}: Only a flagged or rejected post can be approved; this one is submitted.",
    ]
    assert run_action(staff_client, "post", "finalize_selected", [flagged.pk]) == ["1 finalized."]
    assert run_action(staff_client, "post", "reject_selected", [tracking.pk]) == ["1 rejected."]

    with bypass():
        statuses = dict(Post.objects.values_list("pk", "status"))
        assert FraudSignal.objects.get().resolved_by == "staff:staff"
        assert Post.objects.get(pk=tracking.pk).status_reason == "rejected by staff"
    assert statuses == {flagged.pk: Post.Status.FINALIZED, tracking.pk: Post.Status.REJECTED}
    assert [row[0] for row in audit_rows(bypass)] == ["post.approve", "post.finalize", "post.reject"]


def test_post_page_shows_the_status_history(staff_client, guild, bypass):
    post = make_post(guild, status=Post.Status.FLAGGED)
    run_action(staff_client, "post", "approve_selected", [post.pk])

    page = staff_client.get(reverse("admin:tracking_post_change", args=[post.pk])).content.decode()

    assert "approved by staff" in page and "staff:staff" in page
