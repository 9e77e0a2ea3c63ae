from __future__ import annotations

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q

from core.admin_base import ReadOnlyInline
from core.tenancy import guild_scope
from guilds.audit import AuditedAdminMixin
from tracking.campaigns import open_campaign_for
from tracking.lifecycle import TransitionRefused
from tracking.models import ClientAccount, FraudSignal, Post, PostStatusChange, Profile, ScreenshotUpload
from tracking.post_urls import PostUrlError, parse_post_url
from tracking.review import ReviewRefused, review_post
from tracking.verification import staff_actor, staff_revoke_profile, staff_verify_profile

SNAPSHOTS_PER_PAGE = 50


@admin.register(ClientAccount)
class ClientAccountAdmin(AuditedAdminMixin):
    list_display = ("name", "guild", "payout_model", "cpm_rate", "counting_window_days", "active")
    list_filter = ("active", "payout_model", "guild")
    search_fields = ("name", "guild__name")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild",)

    def save_model(self, request, obj, form, change):
        """A new client account gets its campaign in the same transaction, as from the dashboard or
        the API (tracking.campaigns.open_campaign_for)."""
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                actor = f"staff:{request.user.get_username()}"
                with guild_scope(obj.guild_id):
                    open_campaign_for(account=obj, actor=actor, actor_user=request.user, request=request)


@admin.register(Profile)
class ProfileAdmin(AuditedAdminMixin):
    list_display = ("handle", "platform", "creator", "guild", "verification_status", "verified_at", "verified_by")
    list_filter = ("platform", "verification_status", "guild")
    search_fields = ("handle", "=platform_user_id", "creator__username")
    autocomplete_fields = ("guild", "creator")
    list_select_related = ("guild", "creator")
    readonly_fields = ("verified_at", "verified_by", "created_at")
    actions = ["verify_selected", "revoke_selected"]

    @admin.action(description="Verify selected profiles (staff vouches; audited)")
    def verify_selected(self, request, queryset):
        changed = [p for p in queryset if not p.is_verified]
        for profile in changed:
            staff_verify_profile(profile=profile, staff_user=request.user, request=request)
        _report(self, request, done=len(changed), verb="verified", skipped=queryset.count() - len(changed))

    @admin.action(description="Revoke verification of selected profiles (audited)")
    def revoke_selected(self, request, queryset):
        changed = [p for p in queryset if p.verification_status != Profile.Verification.REVOKED]
        for profile in changed:
            staff_revoke_profile(profile=profile, staff_user=request.user, reason="revoked by staff", request=request)
        _report(self, request, done=len(changed), verb="revoked", skipped=queryset.count() - len(changed))


def _report(model_admin, request, *, done: int, verb: str, skipped: int = 0, refused: list[str] | None = None) -> None:
    """One message per action: how many changed, how many needed nothing, and each refusal."""
    text = f"{done} {verb}." + (f" {skipped} already {verb} or unchanged." if skipped else "")
    model_admin.message_user(request, text, messages.SUCCESS if done or not refused else messages.WARNING)
    for line in refused or []:
        model_admin.message_user(request, line, messages.ERROR)


class StatusChangeInline(ReadOnlyInline):
    model = PostStatusChange
    fields = ("created_at", "from_status", "to_status", "reason", "actor")
    readonly_fields = fields
    show_change_link = False


class ScreenshotInline(ReadOnlyInline):
    model = ScreenshotUpload
    fields = ("created_at", "content_type", "size", "sha256", "discord_url", "file_path")
    readonly_fields = fields
    show_change_link = False


@admin.register(Post)
class PostAdmin(AuditedAdminMixin):
    """Staff find a post by pasting its URL (any form people paste) or its platform id.

    Who, where, its status and its numbers are read-only: the status changes only through the actions
    (tracking.review, which writes the status history and the audit log), the numbers only through
    ingestion. A post is rejected, never deleted (its status history is append-only).
    """

    change_form_template = "admin/tracking/post/change_form.html"

    @admin.display(description="views", ordering="views")
    def views_shown(self, post: Post) -> str:
        """742603 → "742,603"."""
        return "—" if post.views is None else f"{post.views:,}"

    # status and views first, where they are seen; the wide guild column last
    list_display = (
        "__str__",
        "status",
        "views_shown",
        "platform",
        "creator",
        "metrics_updated_at",
        "next_refresh_at",
        "guild",
    )
    list_filter = ("status", "platform", "caption_verdict", "guild")
    search_fields = ("=external_id", "canonical_url", "submitted_url", "creator__username")
    search_help_text = "Paste a post URL (any form) or a platform post id."
    autocomplete_fields = ("profile", "client_account")
    list_select_related = ("guild", "creator")
    readonly_fields = (
        "guild",
        "creator",
        "platform",
        "external_id",
        "status",
        "status_reason",
        "views",
        "likes",
        "comments",
        "shares",
        "growth_per_hour",
        "failure_count",
        "submitted_at",
        "metrics_updated_at",
    )
    inlines = [StatusChangeInline, ScreenshotInline]
    actions = ["approve_selected", "reject_selected", "finalize_selected"]

    def has_add_permission(self, request) -> bool:
        return False  # posts are submitted by creators (submit_post), not typed in

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _review(self, request, queryset, *, action: str, reason: str, verb: str) -> None:
        done, refused = 0, []
        for post in queryset:
            before = post.status
            try:
                after = review_post(
                    post=post, action=action, reason=reason, actor=staff_actor(request.user), request=request
                )
            except (TransitionRefused, ReviewRefused) as error:
                refused.append(f"{post}: {error}")
                continue
            done += after.status != before
        _report(self, request, done=done, verb=verb, skipped=queryset.count() - done - len(refused), refused=refused)

    @admin.action(description="Approve selected posts (back to tracking; resolves their signals)")
    def approve_selected(self, request, queryset):
        self._review(request, queryset, action="approve", reason="approved by staff", verb="approved")

    @admin.action(description="Reject selected posts")
    def reject_selected(self, request, queryset):
        self._review(request, queryset, action="reject", reason="rejected by staff", verb="rejected")

    @admin.action(description="Finalize selected posts (stop refreshing)")
    def finalize_selected(self, request, queryset):
        self._review(request, queryset, action="finalize", reason="finalized by staff", verb="finalized")

    def get_search_results(self, request, queryset, search_term):

        term = search_term.strip()
        try:
            parsed = parse_post_url(term)
        except (PostUrlError, ValueError):
            return super().get_search_results(request, queryset, search_term)
        match = Q(canonical_url=parsed.canonical_url) | Q(submitted_url=term)
        if parsed.external_id:
            match |= Q(platform=parsed.platform, external_id=parsed.external_id)
        return queryset.filter(match), False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        post = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if post is not None:
            snapshots = post.snapshots.order_by("-captured_at").only(
                "captured_at", "views", "likes", "comments", "shares", "provider", "source_field", "rounded"
            )
            paginator = Paginator(snapshots, SNAPSHOTS_PER_PAGE)
            extra_context["snapshot_page"] = paginator.get_page(request.GET.get("snapshots_page"))
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(PostStatusChange)
class PostStatusChangeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "post", "from_status", "to_status", "actor", "reason")
    list_filter = ("to_status", "guild")
    search_fields = ("=post__external_id", "actor", "reason")
    list_select_related = ("post",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ScreenshotUpload)
class ScreenshotUploadAdmin(AuditedAdminMixin):
    list_display = ("post", "content_type", "size", "sha256", "created_at")
    list_filter = ("content_type", "guild")
    search_fields = ("=sha256", "=post__external_id")
    autocomplete_fields = ("guild", "post")
    list_select_related = ("post",)


@admin.register(FraudSignal)
class FraudSignalAdmin(AuditedAdminMixin):
    list_display = ("post", "kind", "reason", "detected_at", "resolved_at", "resolved_by")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter), "guild")
    search_fields = ("reason", "=post__external_id")
    autocomplete_fields = ("guild", "post")
    list_select_related = ("post",)
