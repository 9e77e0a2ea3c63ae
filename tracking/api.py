"""REST API about tracked things: client accounts, profiles, posts (filters, URL search, review) and
the posts-with-gains CSV (under /api/v1/guilds/{guild_id}/), plus the bot's profile linking and post
submission (under /api/v1/bot/guilds/{guild_id}/).

Posts are reviewed through ``tracking.review.review_post`` (which audits); submissions go through
``submit_post``, the one submission service every surface uses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.db import transaction
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ApiError, Conflict, ErrorSerializer
from core.api.fields import SnowflakeField
from core.api.rows import ValuesListMixin
from dashboard_auth.drf import DEFAULT_AUTHENTICATION, HasGuildAccess, IsGuildAdmin, actor_of
from guilds.api import (
    BotBase,
    GuildScopedMixin,
    active_guild_or_404,
    refused_as_validation_error,
    request_fields,
)
from guilds.models import Creator, Guild
from integrations.verification import VerificationUnavailable, request_verification
from metrics.periods import PeriodQuerySerializer, period_window
from metrics.selectors import leaderboard
from tracking.caption_rules import MAX_LIST_ITEMS
from tracking.client_accounts import (
    CLIENT_ACCOUNT_FIELDS,
    COUNTING_WINDOW_DAYS,
    ClientAccountRefused,
    save_client_account,
)
from tracking.lifecycle import TransitionRefused
from tracking.models import ClientAccount, Post, Profile
from tracking.platforms import registry
from tracking.post_urls import PostUrlError, parse_post_url
from tracking.review import review_post
from tracking.submission import submit_post
from tracking.submission_errors import SubmissionRefused
from tracking.verification import ProfileRefused, link_profile

# ---------------------------------------------------------------------------------------------
# Client accounts
# ---------------------------------------------------------------------------------------------


class PlatformField(serializers.ChoiceField):
    """A platform key. DRF rebuilds declared fields for every serializer it makes, so the choices are
    the registry's at that moment, not at import."""

    def __init__(self, **kwargs):
        super().__init__(choices=registry.choices(), **kwargs)


class ClientAccountSerializer(serializers.ModelSerializer):
    """A client account. The rules for writing one are tracking.client_accounts.save_client_account's (the
    same as the dashboard's): tags as #tag or @mention, handles normalised, window 1 to 365 days."""

    social_accounts = serializers.DictField(
        child=serializers.CharField(max_length=200), required=False, help_text='{"tiktok": "brand", ...}'
    )
    required_tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=MAX_LIST_ITEMS
    )
    banned_words = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=MAX_LIST_ITEMS
    )

    class Meta:
        model = ClientAccount
        fields = ["id", *CLIENT_ACCOUNT_FIELDS, "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "name": {"validators": []},
            "cpm_rate": {"min_value": 0},
            "counting_window_days": {"min_value": COUNTING_WINDOW_DAYS[0], "max_value": COUNTING_WINDOW_DAYS[1]},
        }


@extend_schema(tags=["client accounts"])
class ClientAccountViewSet(
    GuildScopedMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """The brands posts promote, with their campaign rules. Changes need owner or ADMINISTRATOR and
    follow the same rules and audit as the dashboard's client account forms."""

    model = ClientAccount
    serializer_class = ClientAccountSerializer
    permission_classes = [IsGuildAdmin]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().order_by("name", "pk")

    def _save(self, account: ClientAccount | None) -> ClientAccount:
        actor, actor_user = actor_of(self.request)
        try:
            return save_client_account(
                guild_id=self.guild_id,
                account=account,
                data=request_fields(self.request, CLIENT_ACCOUNT_FIELDS),
                actor=actor,
                actor_user=actor_user,
                request=self.request,
            )
        except ClientAccountRefused as refused:
            raise refused_as_validation_error(refused) from None

    def create(self, request, *args, **kwargs):
        account = self._save(None)
        return Response(self.get_serializer(account).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        account = self._save(self.get_object())
        return Response(self.get_serializer(account).data)


# ---------------------------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------------------------


class ProfileSerializer(serializers.ModelSerializer):
    creator_username = serializers.CharField(source="creator.username", read_only=True)

    class Meta:
        model = Profile
        fields = [
            "id",
            "creator",
            "creator_username",
            "platform",
            "handle",
            "platform_user_id",
            "verification_status",
            "verification_reason",
            "verified_at",
            "created_at",
        ]
        read_only_fields = fields


class ProfileQuerySerializer(serializers.Serializer):
    creator = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    platform = PlatformField(required=False)
    verification_status = serializers.ChoiceField(choices=Profile.Verification.choices, required=False)


PROFILE_FILTERS = frozenset(ProfileQuerySerializer().fields)


@extend_schema(tags=["profiles"])
@extend_schema(methods=["GET"], parameters=[ProfileQuerySerializer])
class ProfileViewSet(ValuesListMixin, GuildScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Creators' social accounts and their verification state."""

    model = Profile
    serializer_class = ProfileSerializer

    def get_queryset(self):
        qs = super().get_queryset().select_related("creator").order_by("platform", "handle", "pk")
        if self.action != "list":
            return qs
        params = ProfileQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = dict(params.validated_data)
        if "creator" in filters:
            filters["creator_id"] = filters.pop("creator")
        return qs.filter(**filters)

    def list_sql_key(self):
        # Without a filter the list's queryset depends on the guild only: its SQL is reused.
        return None if PROFILE_FILTERS.intersection(self.request.query_params) else self.guild_id


# ---------------------------------------------------------------------------------------------
# Posts
# ---------------------------------------------------------------------------------------------


class PostSerializer(serializers.ModelSerializer):
    creator_username = serializers.CharField(source="creator.username", read_only=True)
    profile_handle = serializers.CharField(source="profile.handle", read_only=True)
    client_account_name = serializers.CharField(source="client_account.name", read_only=True)

    class Meta:
        model = Post
        fields = [
            "id",
            "creator",
            "creator_username",
            "profile",
            "profile_handle",
            "client_account",
            "client_account_name",
            "campaign",
            "platform",
            "external_id",
            "submitted_url",
            "canonical_url",
            "caption",
            "caption_verdict",
            "caption_reasons",
            "thumbnail_url",
            "status",
            "status_reason",
            "submitted_at",
            "posted_at",
            "views",
            "likes",
            "comments",
            "shares",
            "metrics_updated_at",
            "next_refresh_at",
            "counting_ends_at",
            "failure_count",
            "last_failure_reason",
        ]
        read_only_fields = fields


class PostQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Post.Status.choices, required=False)
    platform = PlatformField(required=False)
    creator = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    client_account = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    submitted_after = serializers.DateField(required=False, help_text="Submitted on or after this day (UTC).")
    submitted_before = serializers.DateField(required=False, help_text="Submitted before this day (UTC).")
    url = serializers.CharField(required=False, max_length=2048, help_text="Any link to the post (parsed).")


POST_FILTERS = frozenset(PostQuerySerializer().fields)


class ReviewSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        default="",
        help_text="Why (required to reject; the creator sees it).",
    )


def _filter_posts(qs, data: dict):
    simple = {
        "status": "status",
        "platform": "platform",
        "creator": "creator_id",
        "client_account": "client_account_id",
    }
    qs = qs.filter(**{simple[k]: v for k, v in data.items() if k in simple})
    if "submitted_after" in data:
        qs = qs.filter(submitted_at__date__gte=data["submitted_after"])
    if "submitted_before" in data:
        qs = qs.filter(submitted_at__date__lt=data["submitted_before"])
    if "url" in data:
        try:
            parsed = parse_post_url(data["url"])
        except PostUrlError as exc:
            raise ApiError(exc.message, code="invalid", fields={"url": [exc.message]}) from None
        if parsed.external_id:
            qs = qs.filter(platform=parsed.platform, external_id=parsed.external_id)
        else:
            qs = qs.filter(canonical_url=parsed.canonical_url)
    return qs


def _review(action_name: str):
    def handler(self, request, guild_id=None, pk=None):
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if action_name == "reject" and not body.validated_data["reason"].strip():
            message = "Say why the post is rejected; the creator will see the reason."
            raise ApiError(message, code="invalid", fields={"reason": [message]})
        post = self.get_object()

        try:
            post = review_post(
                post=post,
                action=action_name,
                reason=body.validated_data["reason"],
                actor=actor_of(request)[0],
                request=request,
            )
        except TransitionRefused as exc:
            raise Conflict(str(getattr(exc, "message", exc)), code="transition_refused") from None
        except ValueError as exc:
            raise ApiError(str(exc), code="invalid") from None
        return Response(self.get_serializer(self.get_queryset().get(pk=post.pk)).data)

    handler.__name__ = action_name
    handler.__doc__ = f"{action_name.capitalize()} the post, with a reason (audited)."
    # extend_schema goes on top of @action: below it, action() replaces the kwargs that carry the schema
    # and the operation loses its request body (clients could not see where ``reason`` goes).
    routed = action(detail=True, methods=["post"], url_path=action_name)(handler)
    return extend_schema(request=ReviewSerializer, responses={200: PostSerializer}, tags=["posts"])(routed)


@extend_schema(tags=["posts"])
@extend_schema(methods=["GET"], parameters=[PostQuerySerializer])
class PostViewSet(ValuesListMixin, GuildScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Submitted posts, newest first; filter by status, platform, creator, client account, day or URL.
    Reviewing (approve, reject, flag, finalize) needs guild access (MANAGE_GUILD is enough)."""

    model = Post
    serializer_class = PostSerializer

    def get_queryset(self):
        qs = (
            super()
            .get_queryset()
            .select_related("creator", "profile", "client_account")
            .order_by("-submitted_at", "-pk")
        )
        if self.action != "list" or not POST_FILTERS.intersection(self.request.query_params):
            return qs  # no filter asked for: nothing to validate
        params = PostQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return _filter_posts(qs, params.validated_data)

    def list_sql_key(self):
        # Without a filter the list's queryset depends on the guild only: its SQL is reused.
        return None if POST_FILTERS.intersection(self.request.query_params) else self.guild_id

    approve = _review("approve")
    reject = _review("reject")
    flag = _review("flag")
    finalize = _review("finalize")


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


class CSVRenderer(BaseRenderer):
    """Lets content negotiation accept text/csv; the views stream their own bodies."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes | str) else b""


def _cell(value) -> str:
    """Spreadsheet-safe: a text cell starting with = + - @ is not run as a formula."""
    text = "" if value is None else str(value)
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_stream(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV lines. ``rows`` must already be materialised: the guild scope ends when the view returns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(v) for v in row])
        yield buffer.getvalue()


def csv_response(filename: str, header: list[str], rows: list) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CSVExportMixin:
    """CSV views: the body streams as text/csv; errors are JSON in the one error shape."""

    renderer_classes = [CSVRenderer, JSONRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


POSTS_CSV_HEADER = [
    "post_id",
    "creator_id",
    "creator",
    "platform",
    "url",
    "client_account",
    "views_start",
    "views_end",
    "views_gained",
]


class PostsExportView(CSVExportMixin, APIView):
    """Posts with the views they gained in a period (the leaderboard's numbers), as CSV."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [HasGuildAccess]

    @extend_schema(
        parameters=[PeriodQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, one post per row."),
            (400, "application/json"): ErrorSerializer,
        },
        tags=["exports"],
    )
    def get(self, request, guild_id: int):

        params = PeriodQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        guild = Guild.objects.filter(pk=guild_id).first()
        if guild is None:
            raise NotFound("No such guild.")
        label, start, end = period_window(params.validated_data, tz=guild.tz)
        board = leaderboard(guild=guild_id, start=start, end=end)
        rows = [
            [
                p.post_id,
                p.creator_id,
                p.creator_name,
                p.platform,
                p.url,
                p.client_account,
                p.views_start,
                p.views_end,
                p.views_gained,
            ]
            for p in board.posts
        ]
        return csv_response(f"posts-{guild_id}-{label}-{start:%Y%m%d}.csv", POSTS_CSV_HEADER, rows)


# ---------------------------------------------------------------------------------------------
# Bot API: link a profile, submit a post
# ---------------------------------------------------------------------------------------------


def _creator_or_404(guild_id: int, discord_user_id: str) -> Creator:
    creator = Creator.objects.for_guild(guild_id).filter(discord_user_id=discord_user_id).first()
    if creator is None:
        raise NotFound("This member is not tracked in this guild yet; create them first.")
    return creator


class ProfileLinkSerializer(serializers.Serializer):
    discord_user_id = SnowflakeField(help_text="The member's Discord id.")
    platform = PlatformField()
    handle = serializers.CharField(max_length=200)
    start_verification = serializers.BooleanField(default=True, help_text="Start the bio check at once.")


class ProfileLinkedSerializer(serializers.Serializer):
    profile = ProfileSerializer()
    verification_code = serializers.CharField(help_text="The code the creator puts in their bio.")
    verification_code_expires_at = serializers.DateTimeField(allow_null=True)
    verification_status = serializers.CharField()
    verification_message = serializers.CharField(allow_blank=True)


class BotProfileView(BotBase):
    """Link a creator's social account, issue its verification code and start the check. bot.write."""

    @extend_schema(request=ProfileLinkSerializer, responses={201: ProfileLinkedSerializer}, tags=["bot"])
    def post(self, request, guild_id: int):

        body = ProfileLinkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        active_guild_or_404(guild_id)
        creator = _creator_or_404(guild_id, data["discord_user_id"])
        try:
            profile = link_profile(guild_id=guild_id, creator=creator, platform=data["platform"], handle=data["handle"])
        except ProfileRefused as exc:
            raise ApiError(exc.message, code=exc.code, fields={"handle": [exc.message]}) from None
        message = ""
        if data["start_verification"] and not profile.is_verified:
            try:
                request_verification(profile_id=profile.pk)
            except (VerificationUnavailable, ProfileRefused) as exc:
                message = exc.message
        profile.refresh_from_db()
        result = {
            "profile": profile,
            "verification_code": profile.verification_code,
            "verification_code_expires_at": profile.verification_code_expires_at,
            "verification_status": profile.verification_status,
            "verification_message": message,
        }
        return Response(ProfileLinkedSerializer(result).data, status=status.HTTP_201_CREATED)


class SubmitSerializer(serializers.Serializer):
    discord_user_id = SnowflakeField(help_text="The member's Discord id.")
    url = serializers.CharField(max_length=2048)
    client_account_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    campaign_id = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        help_text="One of the client account's active campaigns; default: its active campaign.",
    )
    caption = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


SubmittedSerializer = inline_serializer(
    "Submitted",
    {
        "post": PostSerializer(),
        "created": serializers.BooleanField(help_text="False when the same submission was already recorded."),
        "caption_verdict": serializers.CharField(),
        "notes": serializers.ListField(child=serializers.CharField()),
    },
)


class BotPostView(BotBase):
    """Submit a post for tracking (the submission service). bot.write. 201 when created, 200 when the
    same creator sent the same post again; refusals are 400 with the creator-facing message."""

    @extend_schema(
        request=SubmitSerializer, responses={200: SubmittedSerializer, 201: SubmittedSerializer}, tags=["bot"]
    )
    def post(self, request, guild_id: int):

        body = SubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        active_guild_or_404(guild_id)
        creator = _creator_or_404(guild_id, data["discord_user_id"])
        try:
            with transaction.atomic():
                result = submit_post(
                    guild_id=guild_id,
                    creator=creator,
                    url=data["url"],
                    client_account_id=data["client_account_id"],
                    campaign_id=data.get("campaign_id"),
                    caption=data["caption"],
                    actor=request.user.actor,
                )
        except SubmissionRefused as exc:
            code = 409 if exc.code == "duplicate" else 400
            raise ApiError(exc.message, code=exc.code, status=code, fields=exc.fields) from None
        post = (
            Post.objects.for_guild(guild_id)
            .select_related("creator", "profile", "client_account")
            .get(pk=result.post.pk)
        )
        payload = {
            "post": PostSerializer(post).data,
            "created": result.created,
            "caption_verdict": result.caption_verdict,
            "notes": list(result.notes),
        }
        return Response(payload, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
