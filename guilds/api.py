"""REST API about guilds: the guild list and settings, creators, budgets, usage, bonus rules, audit log
(under /api/v1/guilds/{guild_id}/), and the bot's guild registration, creator upsert and heartbeat
(under /api/v1/bot/).

Every view with ``guild_id`` in its URL runs inside that guild's scope (GuildScopeMiddleware) and
reads through ``for_guild``; the permission classes decide whether the caller may see the guild at
all (404 when not). Every change writes a DashboardAuditLog entry with before and after.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import BoundedDateField, SnowflakeField
from core.api.pagination import ApiPagination
from core.api.rows import ValuesListMixin
from core.tenancy import rls_bypass
from core.values import FieldsRefused
from dashboard_auth.auth import DashboardIdentity, guilds_for
from dashboard_auth.drf import (
    DEFAULT_AUTHENTICATION,
    SERVICE_AUTHENTICATION,
    BotIPThrottle,
    BotKeyThrottle,
    HasGuildAccess,
    HasScope,
    IsGuildAdmin,
    actor_of,
)
from dashboard_auth.service_keys import ServicePrincipal
from guilds.bonus_rules import (
    BONUS_RULE_FIELDS,
    BONUS_TOP_PLACES,
    RULE_DEACTIVATED,
    BonusRuleRefused,
    delete_bonus_rule,
    save_bonus_rule,
)
from guilds.budgets import BUDGET_BOUNDS, BUDGET_FIELDS, BudgetRefused, budget_for, update_budget_config
from guilds.guild_settings import (
    FRAUD_THRESHOLD_FIELDS,
    GUILD_SETTINGS_FIELDS,
    GuildSettingsRefused,
    mask_webhook_url,
    update_guild_settings,
)
from guilds.members import GUILD_REGISTRATION_FIELDS, register_guild, upsert_creator
from guilds.models import (
    FRAUD_THRESHOLD_DEFAULTS,
    FRAUD_THRESHOLD_RANGES,
    BonusRule,
    BotHealth,
    Creator,
    DashboardAuditLog,
    Guild,
    GuildApiUsage,
    GuildBudgetConfig,
)

# ---------------------------------------------------------------------------------------------
# Shared bases
# ---------------------------------------------------------------------------------------------


class GuildScopedMixin:
    """Querysets of the URL's guild only (the middleware's RLS scope is the second layer)."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [HasGuildAccess]
    pagination_class = ApiPagination
    model = None

    @property
    def guild_id(self) -> int:
        return int(self.kwargs["guild_id"])

    def get_queryset(self):
        return self.model.objects.for_guild(self.guild_id)


def _guild_or_404(guild_id: int) -> Guild:
    guild = Guild.objects.filter(pk=guild_id).first()
    if guild is None:
        raise NotFound("No such guild.")
    return guild


# ---------------------------------------------------------------------------------------------
# Guilds
# ---------------------------------------------------------------------------------------------


class GuildSummarySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Discord guild id (a string: snowflakes exceed 2^53).")
    name = serializers.CharField()
    is_owner = serializers.BooleanField()
    can_admin = serializers.BooleanField()


class GuildListView(APIView):
    """The guilds the caller may open: for a dashboard user, those they own, administer or manage
    (and we know); for a service key with guilds.read, every active guild."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = []

    @extend_schema(responses={200: GuildSummarySerializer(many=True)}, tags=["guilds"])
    def get(self, request):
        user = request.user
        if isinstance(user, DashboardIdentity):
            rows = [
                {"id": str(g.guild_id), "name": g.name, "is_owner": g.is_owner, "can_admin": g.can_admin}
                for g in guilds_for(user)
            ]
        elif isinstance(user, ServicePrincipal):
            HasGuildAccess().has_permission(request, self)
            can_admin = user.has_scope("guilds.write")  # what the key may change, as the permissions see it
            with rls_bypass(reason=f"guild list for service key {user.name}"):
                rows = [
                    {"id": str(gid), "name": name, "is_owner": False, "can_admin": can_admin}
                    for gid, name in Guild.objects.filter(active=True).values_list("id", "name")[:1000]
                ]
        else:
            from rest_framework.exceptions import NotAuthenticated

            raise NotAuthenticated()
        return Response(GuildSummarySerializer(rows, many=True).data)


class GuildSettingsSerializer(serializers.ModelSerializer):
    """A guild's settings as the API shows them: webhook URLs are secrets, so only their masked form
    (``https://discord.com/api/webhooks/<id>/***``) is ever sent."""

    id = serializers.CharField(read_only=True)
    logs_webhook_url = serializers.SerializerMethodField(help_text="Masked: the token is never sent back.")
    updates_webhook_url = serializers.SerializerMethodField(help_text="Masked: the token is never sent back.")

    class Meta:
        model = Guild
        fields = [
            "id",
            "name",
            "icon",
            "logs_channel_id",
            "updates_channel_id",
            "logs_webhook_url",
            "updates_webhook_url",
            "logs_destination_gone_at",
            "updates_destination_gone_at",
            "timezone",
            "daily_report_hour",
            *FRAUD_THRESHOLD_FIELDS,
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_logs_webhook_url(self, guild: Guild) -> str:
        return mask_webhook_url(guild.logs_webhook_url)

    def get_updates_webhook_url(self, guild: Guild) -> str:
        return mask_webhook_url(guild.updates_webhook_url)


def _threshold_field(name: str, help_text: str) -> serializers.Field:
    """A fraud threshold as PATCH documents it: the range and default of guilds.models (one place)."""
    low, high = FRAUD_THRESHOLD_RANGES[name]
    text = f"{help_text} (default {FRAUD_THRESHOLD_DEFAULTS[name]})."
    if isinstance(low, Decimal):
        digits = len(str(int(high))) + 2  # 100 → 5 digits, 99.99 → 4: the schema's pattern is exact
        return serializers.DecimalField(
            required=False, max_digits=digits, decimal_places=2, min_value=low, max_value=high, help_text=text
        )
    return serializers.IntegerField(required=False, min_value=low, max_value=high, help_text=text)


class GuildSettingsChangeSerializer(serializers.Serializer):
    """What PATCH accepts (documentation: the rules are guilds.guild_settings.update_guild_settings')."""

    logs_channel_id = serializers.CharField(required=False, allow_blank=True, help_text="Snowflake, or blank.")
    updates_channel_id = serializers.CharField(required=False, allow_blank=True, help_text="Snowflake, or blank.")
    logs_webhook_url = serializers.CharField(
        required=False, allow_blank=True, help_text="https://discord.com/api/webhooks/<id>/<token>, or blank."
    )
    updates_webhook_url = serializers.CharField(required=False, allow_blank=True)
    timezone = serializers.CharField(required=False, help_text="IANA name, e.g. Europe/Paris.")
    daily_report_hour = serializers.IntegerField(required=False, min_value=0, max_value=23)
    fraud_spike_min_views = _threshold_field(
        "fraud_spike_min_views", "Views gained since the previous measurement from which a spike is checked"
    )
    fraud_spike_max_engagement_pct = _threshold_field(
        "fraud_spike_max_engagement_pct",
        "A spike is flagged when likes + comments gained are under this % of the views gained",
    )
    fraud_views_drop_min = _threshold_field(
        "fraud_views_drop_min", "Views may drop by this many, or by fraud_views_drop_pct if larger, unflagged"
    )
    fraud_views_drop_pct = _threshold_field(
        "fraud_views_drop_pct", "Views may drop by this %, or by fraud_views_drop_min if larger, unflagged"
    )
    fraud_engagement_drop_min = _threshold_field(
        "fraud_engagement_drop_min", "Likes or comments may drop by this many (or the %, if larger) unflagged"
    )
    fraud_engagement_drop_pct = _threshold_field(
        "fraud_engagement_drop_pct", "Likes or comments may drop by this % (or the count, if larger) unflagged"
    )


def refused_as_validation_error(refused: FieldsRefused) -> ValidationError:
    """A service's refusal in the one error shape (code "invalid", a message per field)."""
    return ValidationError({name: [message] for name, message in refused.fields.items()})


def request_fields(request, names) -> dict:
    """The body's values for ``names`` (others are ignored, as read-only fields always were)."""
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    return {name: request.data[name] for name in names if name in request.data}


class GuildSettingsView(GenericAPIView):
    """A guild's settings: channels, webhooks (masked), time zone, daily report hour, fraud thresholds
    (percentages as decimal strings, e.g. "0.20"). Changing them
    needs owner or ADMINISTRATOR; the rules and audit are the dashboard's settings page's."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [IsGuildAdmin]
    serializer_class = GuildSettingsSerializer

    @extend_schema(tags=["guilds"])
    def get(self, request, guild_id: int):
        return Response(self.get_serializer(_guild_or_404(guild_id)).data)

    @extend_schema(request=GuildSettingsChangeSerializer, responses={200: GuildSettingsSerializer}, tags=["guilds"])
    def patch(self, request, guild_id: int):
        guild = _guild_or_404(guild_id)
        actor, actor_user = actor_of(request)
        try:
            update_guild_settings(
                guild=guild,
                changes=request_fields(request, GUILD_SETTINGS_FIELDS),
                actor=actor,
                actor_user=actor_user,
                request=request,
            )
        except GuildSettingsRefused as refused:
            raise refused_as_validation_error(refused) from None
        return Response(self.get_serializer(guild).data)


# ---------------------------------------------------------------------------------------------
# Creators
# ---------------------------------------------------------------------------------------------


class CreatorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Creator
        fields = ["id", "discord_user_id", "username", "created_at"]
        read_only_fields = fields


@extend_schema(tags=["creators"])
@extend_schema(
    methods=["GET"],
    parameters=[OpenApiParameter("search", str, description="Part of the username (case-insensitive).")],
)
class CreatorViewSet(ValuesListMixin, GuildScopedMixin, viewsets.ReadOnlyModelViewSet):
    model = Creator
    serializer_class = CreatorSerializer

    def get_queryset(self):
        qs = super().get_queryset().order_by("username", "pk")
        search = self.request.query_params.get("search", "").strip()[:100]
        if self.action == "list" and search:
            qs = qs.filter(username__icontains=search)
        return qs

    def list_sql_key(self):
        # Without a search the list's queryset depends on the guild only: its SQL is reused.
        return None if self.request.query_params.get("search", "").strip() else self.guild_id


# ---------------------------------------------------------------------------------------------
# Budget and usage
# ---------------------------------------------------------------------------------------------


class BudgetSerializer(serializers.ModelSerializer):
    class Meta:
        model = GuildBudgetConfig
        fields = [*BUDGET_FIELDS, "youtube_paused_until", "updated_at"]
        read_only_fields = ["youtube_paused_until", "updated_at"]
        extra_kwargs = {name: {"min_value": low, "max_value": high} for name, (low, high) in BUDGET_BOUNDS.items()}


class BudgetView(GuildScopedMixin, GenericAPIView):
    """The guild's API budgets and refresh cadence. Changing them needs owner or ADMINISTRATOR."""

    permission_classes = [IsGuildAdmin]
    serializer_class = BudgetSerializer

    def _budget(self):
        _guild_or_404(self.guild_id)
        return budget_for(self.guild_id)

    @extend_schema(tags=["budget"])
    def get(self, request, guild_id: int):
        return Response(self.get_serializer(self._budget()).data)

    @extend_schema(tags=["budget"])
    def patch(self, request, guild_id: int):
        budget = self._budget()
        serializer = self.get_serializer(budget, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        actor, actor_user = actor_of(request)
        try:  # the same rules and audit as the dashboard's budget page
            update_budget_config(
                budget=budget,
                changes=dict(serializer.validated_data),
                actor=actor,
                actor_user=actor_user,
                request=request,
            )
        except BudgetRefused as refused:
            raise ValidationError({name: [message] for name, message in refused.fields.items()}) from None
        return Response(self.get_serializer(budget).data)


class UsageSerializer(serializers.ModelSerializer):
    class Meta:
        model = GuildApiUsage
        fields = [
            "day",
            "apify_run_count",
            "apify_runs_skipped",
            "youtube_quota_used",
            "openai_call_count",
            "openai_tokens_used",
        ]


class UsageQuerySerializer(serializers.Serializer):
    start = BoundedDateField(required=False, help_text="First day (UTC, inclusive); default 30 days ago.")
    end = BoundedDateField(required=False, help_text="Last day (UTC, inclusive); default today.")


@extend_schema(tags=["budget"], parameters=[UsageQuerySerializer])
class UsageViewSet(GuildScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """What the guild spent per UTC day, newest first."""

    model = GuildApiUsage
    serializer_class = UsageSerializer

    def get_queryset(self):
        params = UsageQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        today = timezone.now().date()
        end = params.validated_data.get("end", today)
        start = params.validated_data.get("start", end - timedelta(days=30))
        return super().get_queryset().filter(day__gte=start, day__lte=end).order_by("-day")


# ---------------------------------------------------------------------------------------------
# Bonus rules
# ---------------------------------------------------------------------------------------------


class BonusRuleSerializer(serializers.ModelSerializer):
    """A bonus rule. The rules for writing one are guilds.bonus_rules.save_bonus_rule's (the same as the
    dashboard's): threshold needs min_views_gained >= 1, top_n a place from 1 to 100."""

    class Meta:
        model = BonusRule
        fields = ["id", *BONUS_RULE_FIELDS, "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "min_views_gained": {"min_value": 1, "max_value": 10**15},
            "place": {"min_value": 1, "max_value": BONUS_TOP_PLACES},
            "amount": {"min_value": 0},
            "name": {"validators": []},
        }


BonusRuleDeactivatedSerializer = inline_serializer(
    "BonusRuleDeactivated",
    {
        "result": serializers.CharField(help_text='"deactivated": the rule has awards, so it was kept, inactive.'),
        "message": serializers.CharField(),
        "rule": BonusRuleSerializer(),
    },
)


@extend_schema(tags=["bonus rules"])
class BonusRuleViewSet(GuildScopedMixin, viewsets.ModelViewSet):
    """Weekly bonus rules. Changing them needs owner or ADMINISTRATOR. Deleting a rule with awards
    deactivates it instead (200 with a message); one without awards is deleted (204)."""

    model = BonusRule
    serializer_class = BonusRuleSerializer
    permission_classes = [IsGuildAdmin]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().order_by("kind", "place", "-min_views_gained", "pk")

    def _save(self, rule: BonusRule | None) -> BonusRule:
        actor, actor_user = actor_of(self.request)
        try:
            return save_bonus_rule(
                guild_id=self.guild_id,
                rule=rule,
                data=request_fields(self.request, BONUS_RULE_FIELDS),
                actor=actor,
                actor_user=actor_user,
                request=self.request,
            )
        except BonusRuleRefused as refused:
            raise refused_as_validation_error(refused) from None

    def create(self, request, *args, **kwargs):
        rule = self._save(None)
        return Response(self.get_serializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        rule = self._save(self.get_object())
        return Response(self.get_serializer(rule).data)

    @extend_schema(responses={204: None, 200: BonusRuleDeactivatedSerializer})
    def destroy(self, request, *args, **kwargs):
        rule = self.get_object()
        actor, actor_user = actor_of(request)
        result = delete_bonus_rule(
            guild_id=self.guild_id, rule=rule, actor=actor, actor_user=actor_user, request=request
        )
        if result == "deleted":
            return Response(status=status.HTTP_204_NO_CONTENT)
        body = {"result": result, "message": RULE_DEACTIVATED, "rule": self.get_serializer(rule).data}
        return Response(body, status=status.HTTP_200_OK)


# ---------------------------------------------------------------------------------------------
# Audit log
# ---------------------------------------------------------------------------------------------


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = serializers.CharField()
    action = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()


@extend_schema(
    tags=["audit"],
    parameters=[
        OpenApiParameter("action", str, description="Exact action, e.g. post.reject."),
        OpenApiParameter("target_type", str, description="post, budget, bonus_rule, guild, ..."),
    ],
)
class AuditLogViewSet(GuildScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who changed what in this guild, newest first."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self):
        qs = DashboardAuditLog.objects.filter(guild_id=self.guild_id).order_by("-created_at", "-pk")
        for name in ("action", "target_type"):
            value = self.request.query_params.get(name, "").strip()[:60]
            if value:
                qs = qs.filter(**{name: value})
        return qs


# ---------------------------------------------------------------------------------------------
# Bot API
# ---------------------------------------------------------------------------------------------


class BotBase(APIView):
    authentication_classes = SERVICE_AUTHENTICATION
    permission_classes = [HasScope]
    throttle_classes = [BotIPThrottle, BotKeyThrottle]
    required_scopes = {"GET": "bot.read", "*": "bot.write"}


class GuildRegistrationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Guild
        fields = list(GUILD_REGISTRATION_FIELDS)
        extra_kwargs = {"name": {"required": True}, "active": {"required": False}}


class GuildRegisteredSerializer(GuildRegistrationSerializer):
    id = serializers.CharField()
    created = serializers.BooleanField()

    class Meta(GuildRegistrationSerializer.Meta):
        fields = ["id", *GUILD_REGISTRATION_FIELDS, "created"]


class BotGuildView(BotBase):
    """Register a guild (or update its name, icon, channels, time zone). Scope bot.write."""

    @extend_schema(
        request=GuildRegistrationSerializer,
        responses={200: GuildRegisteredSerializer, 201: GuildRegisteredSerializer},
        tags=["bot"],
    )
    def put(self, request, guild_id: int):
        serializer = GuildRegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor, actor_user = actor_of(request)
        guild, created = register_guild(
            guild_id=guild_id, data=serializer.validated_data, actor=actor, actor_user=actor_user, request=request
        )
        body = {**GuildRegistrationSerializer(guild).data, "id": str(guild.pk), "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CreatorUpsertSerializer(serializers.Serializer):
    discord_user_id = SnowflakeField(help_text="The member's Discord id.")
    username = serializers.CharField(max_length=100)


class CreatorUpsertedSerializer(CreatorSerializer):
    created = serializers.BooleanField()

    class Meta(CreatorSerializer.Meta):
        fields = [*CreatorSerializer.Meta.fields, "created"]


def active_guild_or_404(guild_id: int) -> Guild:
    guild = Guild.objects.filter(pk=guild_id, active=True).first()
    if guild is None:
        raise NotFound("This guild is not registered (or not active).")
    return guild


class BotCreatorView(BotBase):
    """Create or update a tracked member. Scope bot.write."""

    @extend_schema(
        request=CreatorUpsertSerializer,
        responses={200: CreatorUpsertedSerializer, 201: CreatorUpsertedSerializer},
        tags=["bot"],
    )
    def post(self, request, guild_id: int):
        serializer = CreatorUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        active_guild_or_404(guild_id)
        actor, actor_user = actor_of(request)
        creator, created = upsert_creator(
            guild_id=guild_id, actor=actor, actor_user=actor_user, request=request, **serializer.validated_data
        )
        body = {**CreatorSerializer(creator).data, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class HeartbeatSerializer(serializers.ModelSerializer):
    class Meta:
        model = BotHealth
        fields = ["status", "shard_count", "guild_count", "memory_mb", "uptime_seconds", "last_heartbeat_at"]
        read_only_fields = ["last_heartbeat_at"]
        extra_kwargs = {
            "status": {"required": False},
            "shard_count": {"max_value": 100_000},
            "guild_count": {"max_value": 10_000_000},
            "memory_mb": {"max_value": 10_000_000},
            "uptime_seconds": {"max_value": 10**12},
        }


class BotHeartbeatView(BotBase):
    """The bot says it is alive (BotHealth singleton). Scope bot.write."""

    @extend_schema(request=HeartbeatSerializer, responses={200: HeartbeatSerializer}, tags=["bot"])
    def post(self, request):
        serializer = HeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {"status": BotHealth.Status.ONLINE, **serializer.validated_data}
        with transaction.atomic():
            health = BotHealth.objects.select_for_update().filter(pk=1).first() or BotHealth(pk=1)
            for key, value in data.items():
                setattr(health, key, value)
            health.last_heartbeat_at = timezone.now()
            health.save()
        return Response(HeartbeatSerializer(health).data)
