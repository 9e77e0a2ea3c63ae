"""REST API about numbers: a post's metric series, the leaderboard (JSON and CSV) under
/api/v1/guilds/{guild_id}/, and the bot's creator stats and leaderboard under /api/v1/bot/.

Every number of views gained comes from ``metrics.selectors.leaderboard`` - the same query behind the
dashboard, the CSV export, reports and bonuses - so they agree everywhere; the paginated JSON reads one
page of it with ``metrics.selectors.leaderboard_page`` (the same rows, summed and sorted in SQL).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ErrorSerializer
from core.api.rows import ValuesListMixin
from dashboard_auth.drf import DEFAULT_AUTHENTICATION, HasGuildAccess
from guilds.api import BotBase, GuildScopedMixin, active_guild_or_404
from guilds.models import Creator, Guild
from metrics.models import VideoMetrics
from metrics.periods import PeriodQuerySerializer, period_bounds, period_window
from metrics.selectors import leaderboard, leaderboard_creators, leaderboard_page
from tracking.api import CSVExportMixin, csv_response
from tracking.models import Post

# ---------------------------------------------------------------------------------------------
# Series
# ---------------------------------------------------------------------------------------------


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = VideoMetrics
        fields = ["captured_at", "views", "likes", "comments", "shares", "saves", "provider", "rounded"]


class SeriesQuerySerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False, help_text="From this moment (inclusive).")
    end = serializers.DateTimeField(required=False, help_text="Until this moment (exclusive).")


@extend_schema(tags=["posts"], parameters=[SeriesQuerySerializer])
class PostSeriesViewSet(ValuesListMixin, GuildScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """A post's measurements over time, oldest first (read through the (guild, post, captured_at) index)."""

    serializer_class = SnapshotSerializer

    def get_queryset(self):
        post_id = int(self.kwargs["post_id"])
        if not Post.objects.for_guild(self.guild_id).filter(pk=post_id).exists():
            raise NotFound("No such post.")
        params = SeriesQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        qs = VideoMetrics.objects.for_guild(self.guild_id).filter(post_id=post_id)
        if "start" in params.validated_data:
            qs = qs.filter(captured_at__gte=params.validated_data["start"])
        if "end" in params.validated_data:
            qs = qs.filter(captured_at__lt=params.validated_data["end"])
        return qs.order_by("captured_at")


# ---------------------------------------------------------------------------------------------
# Leaderboard
# ---------------------------------------------------------------------------------------------


class CreatorGainSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    creator_id = serializers.IntegerField()
    creator_name = serializers.CharField()
    discord_user_id = serializers.CharField()
    posts = serializers.IntegerField()
    views_gained = serializers.IntegerField()


class PostGainSerializer(serializers.Serializer):
    post_id = serializers.IntegerField()
    creator_id = serializers.IntegerField()
    creator_name = serializers.CharField()
    platform = serializers.CharField()
    url = serializers.CharField()
    client_account = serializers.CharField()
    views_start = serializers.IntegerField()
    views_end = serializers.IntegerField()
    views_gained = serializers.IntegerField()


LEADERBOARD_PAGE_SIZE, LEADERBOARD_MAX_PAGE_SIZE = 50, 200


class LeaderboardQuerySerializer(PeriodQuerySerializer):
    page = serializers.IntegerField(
        required=False, default=1, min_value=1, help_text="Page of creators and of posts (1 = the top)."
    )
    page_size = serializers.IntegerField(
        required=False,
        default=LEADERBOARD_PAGE_SIZE,
        min_value=1,
        max_value=LEADERBOARD_MAX_PAGE_SIZE,
        help_text=f"Creators and posts per page (at most {LEADERBOARD_MAX_PAGE_SIZE}).",
    )


class LeaderboardSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="day, yesterday, week, last_week, month, all or custom.")
    timezone = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    total_views_gained = serializers.IntegerField(help_text="Over every post of the guild, not only this page.")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    creators_count = serializers.IntegerField(help_text="Creators who gained views in the period (every page).")
    posts_count = serializers.IntegerField(help_text="Posts counted in the period (every page).")
    creators = CreatorGainSerializer(many=True, help_text="This page of creators, best first.")
    posts = PostGainSerializer(many=True, help_text="This page of posts, best first.")


def leaderboard_payload(*, guild: Guild, params: dict, default: str = "week") -> tuple[str, datetime, list]:
    """The period's label, start and every creator of its leaderboard (summed in SQL)."""
    label, start, end = period_window(params, tz=guild.tz, default=default)
    return label, start, leaderboard_creators(guild=guild.pk, start=start, end=end)


def _board_json(guild: Guild, params: dict) -> dict:
    """One page of the leaderboard (the same page of creators and of posts) with the totals: a
    large guild's answer stays small, and only the page's rows are built. A page past the end has
    empty lists."""
    label, start, end = period_window(params, tz=guild.tz, default="week")
    page, size = params["page"], params["page_size"]
    board = leaderboard_page(guild=guild.pk, start=start, end=end, page=page, page_size=size)
    return LeaderboardSerializer(
        {
            "period": label,
            "timezone": guild.timezone,
            "start": board.start,
            "end": board.end,
            "total_views_gained": board.total_views_gained,
            "page": page,
            "page_size": size,
            "creators_count": board.creators_count,
            "posts_count": board.posts_count,
            "creators": board.creators,
            "posts": board.posts,
        }
    ).data


def _guild_or_404(guild_id: int) -> Guild:
    guild = Guild.objects.filter(pk=guild_id).first()
    if guild is None:
        raise NotFound("No such guild.")
    return guild


class LeaderboardView(APIView):
    """Views gained inside the period, per creator and per post, best first, one page at a time
    (``page``, ``page_size``; totals for the whole guild). Default period: week."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [HasGuildAccess]

    @extend_schema(
        parameters=[LeaderboardQuerySerializer], responses={200: LeaderboardSerializer}, tags=["leaderboard"]
    )
    def get(self, request, guild_id: int):
        params = LeaderboardQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        guild = _guild_or_404(guild_id)
        return Response(_board_json(guild, params.validated_data))


LEADERBOARD_CSV_HEADER = ["rank", "creator_id", "creator", "discord_user_id", "posts", "views_gained"]


class LeaderboardExportView(CSVExportMixin, APIView):
    """The leaderboard per creator as CSV (same numbers as the JSON leaderboard)."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [HasGuildAccess]

    @extend_schema(
        parameters=[PeriodQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, one creator per row."),
            (400, "application/json"): ErrorSerializer,
        },
        tags=["exports"],
    )
    def get(self, request, guild_id: int):
        params = PeriodQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        guild = _guild_or_404(guild_id)
        label, start, creators = leaderboard_payload(guild=guild, params=params.validated_data)
        rows = [[c.rank, c.creator_id, c.creator_name, c.discord_user_id, c.posts, c.views_gained] for c in creators]
        return csv_response(f"leaderboard-{guild_id}-{label}-{start:%Y%m%d}.csv", LEADERBOARD_CSV_HEADER, rows)


# ---------------------------------------------------------------------------------------------
# Bot API
# ---------------------------------------------------------------------------------------------


class CreatorStatsSerializer(serializers.Serializer):
    discord_user_id = serializers.CharField()
    username = serializers.CharField()
    posts = serializers.IntegerField(help_text="Posts submitted (every status).")
    views_gained_week = serializers.IntegerField(help_text="Views gained this week (guild time zone).")
    views_gained_all = serializers.IntegerField(help_text="Views gained in all time.")
    rank_week = serializers.IntegerField(allow_null=True)


class BotCreatorStatsView(BotBase):
    """A creator's numbers: posts, views gained this week and in all. Scope bot.read."""

    @extend_schema(responses={200: CreatorStatsSerializer}, tags=["bot"])
    def get(self, request, guild_id: int, discord_user_id: str):
        guild = active_guild_or_404(guild_id)
        creator = Creator.objects.for_guild(guild_id).filter(discord_user_id=discord_user_id).first()
        if creator is None:
            raise NotFound("This member is not tracked in this guild.")
        now = timezone.now()
        week_start, week_end = period_bounds(period="week", now=now, tz=guild.tz)
        all_start, all_end = period_bounds(period="all", now=now, tz=guild.tz)
        week = leaderboard_creators(guild=guild_id, start=week_start, end=week_end)
        all_time = leaderboard(guild=guild_id, start=all_start, end=all_end, creator_id=creator.pk)
        mine = next((c for c in week if c.creator_id == creator.pk), None)
        data = {
            "discord_user_id": creator.discord_user_id,
            "username": creator.username,
            "posts": Post.objects.for_guild(guild_id).filter(creator=creator).count(),
            "views_gained_week": mine.views_gained if mine else 0,
            "views_gained_all": all_time.total_views_gained,
            "rank_week": mine.rank if mine else None,
        }
        return Response(CreatorStatsSerializer(data).data)


class BotLeaderboardView(BotBase):
    """The leaderboard for a period (default week). Scope bot.read."""

    @extend_schema(parameters=[LeaderboardQuerySerializer], responses={200: LeaderboardSerializer}, tags=["bot"])
    def get(self, request, guild_id: int):
        params = LeaderboardQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        guild = active_guild_or_404(guild_id)
        return Response(_board_json(guild, params.validated_data))
