"""The review queue over the API: what waits for a decision (with reasons) and the bulk decision.

Reads and writes the same selector and service as the dashboard's review page (tracking.review),
so the API's count is the overview's. MANAGE_GUILD is enough, as for reviewing one post.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ApiError, Conflict, ErrorSerializer
from core.api.pagination import CountedPagination
from dashboard_auth.drf import DEFAULT_AUTHENTICATION, HasGuildAccess, actor_of
from guilds.api import GuildScopedMixin
from tracking.api import PostSerializer
from tracking.review import (
    BULK_ACTIONS,
    BULK_LIMIT,
    ReviewConflict,
    ReviewRefused,
    reasons_for,
    review_posts,
    review_queue,
)


class QueueEntrySerializer(PostSerializer):
    reasons = serializers.SerializerMethodField(
        help_text="Why the post waits: fraud signals with their numbers, caption findings, a reviewer's note."
    )

    class Meta(PostSerializer.Meta):
        fields = [*PostSerializer.Meta.fields, "reasons"]
        read_only_fields = fields

    def get_reasons(self, post) -> list[str]:
        return self.context["reasons"].get(post.pk, [])


@extend_schema(tags=["posts"])
class ReviewQueueView(GuildScopedMixin, ListAPIView):
    """Posts waiting for a decision, oldest first, each with its reasons; ``count`` is the number the
    dashboard shows."""

    serializer_class = QueueEntrySerializer
    pagination_class = CountedPagination

    def get_queryset(self):
        return review_queue(self.guild_id)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        context = {**self.get_serializer_context(), "reasons": reasons_for(self.guild_id, page)}
        return self.get_paginated_response(QueueEntrySerializer(page, many=True, context=context).data)


class BulkReviewSerializer(serializers.Serializer):
    post_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=BULK_LIMIT,
        help_text=f"Up to {BULK_LIMIT} post ids.",
    )
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        default="",
        help_text="Required to reject; the creator sees it.",
    )


class BulkReviewResultSerializer(serializers.Serializer):
    reviewed = serializers.ListField(child=serializers.IntegerField())
    status = serializers.CharField()


class BulkReviewView(APIView):
    """Approve or reject several waiting posts at once: all of them, or none with the reason."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [HasGuildAccess]

    @extend_schema(
        request=BulkReviewSerializer,
        responses={
            200: BulkReviewResultSerializer,
            400: OpenApiResponse(ErrorSerializer),
            409: OpenApiResponse(ErrorSerializer, description="A post is not waiting for a decision."),
        },
        tags=["posts"],
    )
    def post(self, request, guild_id: int):
        body = BulkReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            done = review_posts(
                guild_id=int(guild_id),
                post_ids=[int(pk) for pk in data["post_ids"]],
                action=data["action"],
                reason=data["reason"],
                actor=actor_of(request)[0],
                request=request,
            )
        except ReviewConflict as refused:
            raise Conflict(refused.message, code="transition_refused") from None
        except ReviewRefused as refused:
            raise ApiError(refused.message, code=refused.code) from None
        result = {"reviewed": [p.pk for p in done], "status": done[0].status if done else ""}
        return Response(result, status=status.HTTP_200_OK)
