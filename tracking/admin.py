from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Q

from tracking.admin_base import ReadOnlyInline
from tracking.models import ClientAccount, Post, PostStatusChange, Profile, ScreenshotUpload

SNAPSHOTS_PER_PAGE = 50


@admin.register(ClientAccount)
class ClientAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "guild", "payout_model", "cpm_rate", "counting_window_days", "active")
    list_filter = ("active", "payout_model", "guild")
    search_fields = ("name", "guild__name")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild",)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("handle", "platform", "creator", "guild", "verification_status", "verified_at", "verified_by")
    list_filter = ("platform", "verification_status", "guild")
    search_fields = ("handle", "=platform_user_id", "creator__username")
    autocomplete_fields = ("guild", "creator")
    list_select_related = ("guild", "creator")
    readonly_fields = ("verified_at", "verified_by", "created_at")


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
class PostAdmin(admin.ModelAdmin):
    """Staff find a post by pasting its URL (any form people paste) or its platform id."""

    change_form_template = "admin/tracking/post/change_form.html"
    list_display = (
        "__str__",
        "guild",
        "creator",
        "platform",
        "status",
        "views",
        "metrics_updated_at",
        "next_refresh_at",
    )
    list_filter = ("status", "platform", "caption_verdict", "guild")
    search_fields = ("=external_id", "canonical_url", "submitted_url", "creator__username")
    search_help_text = "Paste a post URL (any form) or a platform post id."
    autocomplete_fields = ("guild", "creator", "profile", "client_account")
    list_select_related = ("guild", "creator")
    readonly_fields = ("submitted_at", "metrics_updated_at")
    inlines = [StatusChangeInline, ScreenshotInline]

    def get_search_results(self, request, queryset, search_term):
        from tracking.post_urls import PostUrlError, parse_post_url

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
class ScreenshotUploadAdmin(admin.ModelAdmin):
    list_display = ("post", "content_type", "size", "sha256", "created_at")
    list_filter = ("content_type", "guild")
    search_fields = ("=sha256", "=post__external_id")
    autocomplete_fields = ("guild", "post")
    list_select_related = ("post",)
