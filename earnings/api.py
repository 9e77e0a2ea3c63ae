"""REST API about money under /api/v1/guilds/{guild_id}/: campaigns (their report, burn per day and
brand report links), earnings (JSON) and its CSV export, statements (approve, mark paid, void), weekly
bonuses booked in the ledger (list, mark paid), the payout export (CSV, XLSX) and reopening a
finalized post. Reading needs guild access; every change needs the guild's owner or ADMINISTRATOR and
is audited.

Every amount comes from ``earnings.selectors.earnings`` — the same function as ``manage.py earnings``
— so the JSON, the CSV and the command agree to the cent.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ApiError, ErrorSerializer
from core.snowflakes import parse_id
from dashboard_auth.drf import DEFAULT_AUTHENTICATION, HasGuildAccess, IsGuildAdmin, actor_of, audit
from earnings.brand_reports import (
    DEFAULT_EXPIRY_DAYS,
    MAX_EXPIRY_DAYS,
    LinkRefused,
    burn_series,
    campaign_links,
    campaign_report,
    create_link,
    revoke_link,
)
from earnings.exports import PAYOUT_HEADER, XLSX_CONTENT_TYPE, payout_rows, xlsx_bytes
from earnings.models import LedgerEntry, Statement
from earnings.selectors import (
    Earnings,
    bonus_entries,
    campaign_burn,
    creators_money,
    earnings,
    earnings_document,
    to_cents,
)
from earnings.services import (
    BULK_APPROVE_LIMIT,
    MoneyRefused,
    approve_statement,
    approve_statements,
    create_statements,
    mark_statement_paid,
    pay_bonus,
    reopen_post,
    void_statement,
)
from guilds.api import GuildScopedMixin, refused_as_validation_error, request_fields
from guilds.models import Creator, Guild
from metrics.periods import PeriodQuerySerializer, period_window
from tracking.api import CSVExportMixin, csv_response
from tracking.campaigns import CAMPAIGN_FIELDS, CampaignRefused, save_campaign
from tracking.models import Campaign


class IsGuildAdminForReads(HasGuildAccess):
    """Owner or ADMINISTRATOR (or a guilds.write key) even to read: for exports that show payout
    addresses in full."""

    read_scope = "guilds.write"

    def has_permission(self, request, view):
        super().has_permission(request, view)
        access = getattr(request, "guild_access", None)
        if access is not None and not access.can_admin:
            raise PermissionDenied("Only the guild's owner or an administrator can export payout addresses.")
        return True


def _refused(refused: MoneyRefused) -> ApiError:
    fields = {refused.field: [refused.message]} if refused.field else None
    return ApiError(refused.message, code=refused.code, status=refused.status, fields=fields)


# ---------------------------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------------------------

_MONEY_FIELD = {"min_value": 0, "max_digits": 12, "decimal_places": 2}


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign. Money is a decimal string ("1.50"), never a float; rates are per 1,000 views."""

    client_account_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    total_budget = serializers.DecimalField(**_MONEY_FIELD, allow_null=True, required=False)
    rate_per_1000 = serializers.DecimalField(min_value=0, max_digits=8, decimal_places=2, required=False)
    post_cap = serializers.DecimalField(**_MONEY_FIELD, allow_null=True, required=False)
    creator_cap = serializers.DecimalField(**_MONEY_FIELD, allow_null=True, required=False)
    counting_window_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    validation_window_days = serializers.IntegerField(min_value=0, max_value=90, required=False)
    platform_rates = serializers.DictField(
        child=serializers.DecimalField(min_value=0, max_digits=8, decimal_places=2, coerce_to_string=True),
        required=False,
        help_text='Per-platform rate overrides: {"youtube": "2.50"}.',
    )
    eligible_platforms = serializers.ListField(
        child=serializers.CharField(max_length=10), required=False, max_length=20
    )
    required_tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)
    banned_words = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=200)

    class Meta:
        model = Campaign
        fields = ["id", *CAMPAIGN_FIELDS, "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"name": {"validators": []}, "currency": {"validators": []}}

    def validate_platform_rates(self, value):
        return {platform: str(rate) for platform, rate in value.items()}


class BurnSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    currency = serializers.CharField()
    budget = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    spent = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Frozen money of finalized posts.")
    pending = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Accruing or being validated.")
    held = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Flagged posts awaiting review.")
    remaining = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    percent_used = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    days_left = serializers.IntegerField(allow_null=True)


_DEC = {"max_digits": 14, "decimal_places": 2}


class TopPostSerializer(serializers.Serializer):
    post_id = serializers.IntegerField()
    platform = serializers.CharField()
    title = serializers.CharField(help_text="The caption's first words (else @handle on Platform).")
    url = serializers.CharField()
    views = serializers.IntegerField(help_text="Views counted for pay over the campaign's life.")
    amount = serializers.DecimalField(**_DEC, help_text="The post's money after its creator's cap.")


class CampaignReportSerializer(serializers.Serializer):
    """A campaign's numbers as the brand's report shows them (earnings/brand_reports.py)."""

    campaign_id = serializers.IntegerField(source="campaign.pk")
    name = serializers.CharField(source="campaign.name")
    currency = serializers.CharField()
    starts_at = serializers.DateTimeField(source="campaign.starts_at")
    ends_at = serializers.DateTimeField(source="campaign.ends_at", allow_null=True)
    at = serializers.DateTimeField(help_text="When these numbers were computed.")
    views = serializers.IntegerField(help_text="Payable views of the payable (not held) posts.")
    spend = serializers.DecimalField(**_DEC, help_text="spent + pending: money earned by payable posts.")
    effective_cpm = serializers.DecimalField(
        **_DEC, allow_null=True, help_text="spend / views × 1000, half-up to cents; null without views."
    )
    burn = BurnSerializer()
    top_posts = TopPostSerializer(many=True)


class BurnPointSerializer(serializers.Serializer):
    date = serializers.DateField(source="day", help_text="Local day (the guild's time zone); the last one is today.")
    spent = serializers.DecimalField(**_DEC)
    pending = serializers.DecimalField(**_DEC)
    held = serializers.DecimalField(**_DEC)
    used = serializers.DecimalField(**_DEC, help_text="spent + pending + held at the end of the day.")


class BurnSeriesSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    currency = serializers.CharField()
    budget = serializers.DecimalField(**_DEC, allow_null=True)
    days = BurnPointSerializer(many=True)


class BrandLinkSerializer(serializers.Serializer):
    """A brand report link. The URL (it carries the secret) is only in the answer that creates it."""

    id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"])
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["state"] = instance.state(timezone.now())
        return data


class BrandLinkCreatedSerializer(BrandLinkSerializer):
    url = serializers.CharField(help_text="The link to send the brand; shown only now (it is not stored).")


class CreateBrandLinkSerializer(serializers.Serializer):
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        default=DEFAULT_EXPIRY_DAYS,
        help_text=f"Days until the link stops opening (1 to {MAX_EXPIRY_DAYS}; default {DEFAULT_EXPIRY_DAYS}).",
    )


def _link_refused(refused: LinkRefused) -> ApiError:
    fields = {refused.field: [refused.message]} if refused.field else None
    code = {404: "not_found", 409: "conflict"}.get(refused.status, "invalid")
    return ApiError(refused.message, code=code, status=refused.status, fields=fields)


@extend_schema(tags=["campaigns"])
class CampaignViewSet(
    GuildScopedMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Campaigns: each client account's paid briefs. Changes need owner or ADMINISTRATOR; audited."""

    model = Campaign
    serializer_class = CampaignSerializer
    permission_classes = [IsGuildAdmin]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().order_by("-starts_at", "pk")

    def _save(self, campaign: Campaign | None) -> Campaign:
        body = self.get_serializer(
            campaign, data=request_fields(self.request, CAMPAIGN_FIELDS), partial=campaign is not None
        )
        body.is_valid(raise_exception=True)
        actor, actor_user = actor_of(self.request)
        try:
            return save_campaign(
                guild_id=self.guild_id,
                campaign=campaign,
                data=body.validated_data,
                actor=actor,
                actor_user=actor_user,
                request=self.request,
            )
        except CampaignRefused as refused:
            raise refused_as_validation_error(refused) from None

    def create(self, request, *args, **kwargs):
        return Response(self.get_serializer(self._save(None)).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        return Response(self.get_serializer(self._save(self.get_object())).data)

    @extend_schema(responses={200: BurnSerializer})
    @action(detail=True, methods=["get"])
    def burn(self, request, guild_id: int, pk: str):
        """Budget burn now: spent (finalized), pending, held, remaining, percent used, days left."""
        burn = campaign_burn(guild_id=self.guild_id, campaign=self.get_object(), at=timezone.now())
        return Response(BurnSerializer(burn).data)

    @extend_schema(responses={200: CampaignReportSerializer})
    @action(detail=True, methods=["get"])
    def report(self, request, guild_id: int, pk: str):
        """The campaign's report now: counted views, spend, effective CPM, burn and top posts — the
        numbers of the brand's report page and the dashboard's campaign page."""
        report = campaign_report(guild_id=self.guild_id, campaign=self.get_object(), at=timezone.now())
        return Response(CampaignReportSerializer(report).data)

    @extend_schema(responses={200: BurnSeriesSerializer})
    @action(detail=True, methods=["get"], url_path="burn-series")
    def burn_series(self, request, guild_id: int, pk: str):
        """Money used (spent, pending, held) at the end of each local day since the campaign started
        (the last 92 days at most); the last day is now and equals ``burn``."""
        campaign = self.get_object()
        guild = Guild.objects.get(pk=self.guild_id)
        days = burn_series(guild_id=self.guild_id, campaign=campaign, at=timezone.now(), tz=guild.tz)
        body = {
            "campaign_id": campaign.pk,
            "currency": campaign.currency,
            "budget": campaign.total_budget,
            "days": days,
        }
        return Response(BurnSeriesSerializer(body).data)

    @extend_schema(methods=["GET"], responses={200: BrandLinkSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=CreateBrandLinkSerializer,
        responses={201: BrandLinkCreatedSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="brand-links", pagination_class=None)
    def brand_links(self, request, guild_id: int, pk: str):
        """GET: the campaign's brand report links (active, expired, revoked; never their URL).
        POST (owner or ADMINISTRATOR, audited): a new link, expiring in ``expires_in_days``; the answer
        carries its URL, shown this once."""
        campaign = self.get_object()
        if request.method == "GET":
            links = campaign_links(guild_id=self.guild_id, campaign_id=campaign.pk)
            return Response(BrandLinkSerializer(links, many=True).data)
        body = CreateBrandLinkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actor, actor_user = actor_of(request)
        try:
            issued = create_link(
                guild_id=self.guild_id,
                campaign=campaign,
                expires_in_days=body.validated_data["expires_in_days"],
                actor=actor,
                actor_user=actor_user,
                request=request,
            )
        except LinkRefused as refused:
            raise _link_refused(refused) from None
        data = {**BrandLinkSerializer(issued.link).data, "url": issued.url}
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: BrandLinkSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"], url_path=r"brand-links/(?P<link_id>[0-9]{1,19})/revoke")
    def revoke_brand_link(self, request, guild_id: int, pk: str, link_id: str):
        """Revoke a brand report link (owner or ADMINISTRATOR, audited): it opens nothing from now on."""
        campaign = self.get_object()
        number = parse_id(link_id)
        if number is None:
            raise ApiError("No such report link for this campaign.", code="not_found", status=404)
        actor, actor_user = actor_of(request)
        try:
            link = revoke_link(
                guild_id=self.guild_id,
                link_id=number,
                campaign_id=campaign.pk,
                actor=actor,
                actor_user=actor_user,
                request=request,
            )
        except LinkRefused as refused:
            raise _link_refused(refused) from None
        return Response(BrandLinkSerializer(link).data)


class EarningsQuerySerializer(PeriodQuerySerializer):
    campaign = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="Only this campaign (its id)."
    )


def _earnings_for(guild_id: int, query_params) -> tuple[str, Earnings]:
    params = EarningsQuerySerializer(data=query_params)
    params.is_valid(raise_exception=True)
    guild = Guild.objects.filter(pk=guild_id).first()
    if guild is None:
        raise NotFound("No such guild.")
    campaign_id = params.validated_data.get("campaign")
    if campaign_id is not None and not Campaign.objects.for_guild(guild_id).filter(pk=campaign_id).exists():
        raise NotFound("This guild has no such campaign.")
    label, start, end = period_window(params.validated_data, tz=guild.tz)
    return label, earnings(guild_id=guild_id, start=start, end=end, campaign_id=campaign_id)


_MONEY = serializers.DictField(child=serializers.CharField(), help_text='{"USD": "12.34"}')


class EarningPostSerializer(serializers.Serializer):
    post_id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    status = serializers.CharField()
    currency = serializers.CharField()
    views_payable = serializers.IntegerField()
    min_views = serializers.IntegerField()
    rate_per_1000 = serializers.CharField()
    post_cap = serializers.CharField(allow_null=True)
    amount = serializers.CharField(help_text="The post's money for the period, held or not.")
    held = serializers.BooleanField()
    hold_reason = serializers.CharField()


class EarningCreatorSerializer(serializers.Serializer):
    creator_id = serializers.IntegerField()
    discord_user_id = serializers.CharField()
    username = serializers.CharField()
    capped = serializers.BooleanField(help_text="The campaign's creator cap cut this creator's amount.")
    amount = _MONEY
    held_amount = _MONEY
    posts = EarningPostSerializer(many=True)


class EarningBonusSerializer(serializers.Serializer):
    ledger_entry_id = serializers.IntegerField(
        help_text="The bonus entry in the ledger (pay it with …/bonuses/{id}/pay)."
    )
    creator_id = serializers.IntegerField()
    discord_user_id = serializers.CharField()
    username = serializers.CharField()
    week_start = serializers.DateField(help_text="Monday of the week awarded, in the guild's time zone.")
    rule = serializers.CharField()
    currency = serializers.CharField()
    amount = serializers.CharField()


class EarningsSerializer(serializers.Serializer):
    guild_id = serializers.CharField()
    start = serializers.CharField()
    end = serializers.CharField()
    creators = EarningCreatorSerializer(many=True)
    total = _MONEY
    held_total = _MONEY
    bonuses = EarningBonusSerializer(
        many=True,
        help_text="Weekly bonuses booked in the ledger whose week starts in the period; never part of a "
        "creator's amount or of total. Empty when one campaign is asked for.",
    )
    bonus_total = _MONEY


class EarningsView(APIView):
    """Money earned in a period per creator and post (the ``manage.py earnings --json`` contract).
    Default period: week."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [HasGuildAccess]

    @extend_schema(parameters=[EarningsQuerySerializer], responses={200: EarningsSerializer}, tags=["earnings"])
    def get(self, request, guild_id: int):
        _label, result = _earnings_for(guild_id, request.query_params)
        return Response(earnings_document(result))


EARNINGS_CSV_HEADER = [
    "row",
    "creator_id",
    "discord_user_id",
    "username",
    "post_id",
    "campaign_id",
    "status",
    "currency",
    "views_payable",
    "rate_per_1000",
    "post_cap",
    "amount",
    "held",
    "hold_reason",
    "held_amount",
    "capped",
]


def earnings_rows(result: Earnings) -> list[list]:
    """One row per post, then one total row per creator and currency (amount payable, held_amount)."""
    rows: list[list] = []
    for c in result.creators:
        who = [c.creator_id, c.discord_user_id, c.username]
        for p in c.posts:
            cap = "" if p.post_cap is None else p.post_cap
            rows.append(
                ["post", *who, p.post_id, p.campaign_id, p.status, p.currency, p.views_payable, p.rate_per_1000, cap]
                + [to_cents(p.amount), p.held, p.hold_reason, "", ""]
            )
        for currency in sorted(set(c.amount) | set(c.held_amount)):
            amount, held = c.amount.get(currency), c.held_amount.get(currency)
            rows.append(
                ["total", *who, "", "", "", currency, "", "", "", to_cents(amount), "", "", to_cents(held), c.capped]
            )
    return rows


class EarningsExportView(CSVExportMixin, APIView):
    """Earnings as CSV: one row per post, a total row per creator (same numbers as the JSON)."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [HasGuildAccess]

    @extend_schema(
        parameters=[EarningsQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, one post per row, creator totals."),
            (400, "application/json"): ErrorSerializer,
        },
        tags=["exports"],
    )
    def get(self, request, guild_id: int):
        label, result = _earnings_for(guild_id, request.query_params)
        return csv_response(
            f"earnings-{guild_id}-{label}-{result.start:%Y%m%d}.csv", EARNINGS_CSV_HEADER, earnings_rows(result)
        )


# ---------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------


class StatementSerializer(serializers.ModelSerializer):
    creator_username = serializers.CharField(source="creator.username", read_only=True)
    discord_user_id = serializers.CharField(source="creator.discord_user_id", read_only=True)

    class Meta:
        model = Statement
        fields = [
            "id",
            "campaign",
            "creator",
            "creator_username",
            "discord_user_id",
            "period_start",
            "period_end",
            "currency",
            "amount",
            "held_amount",
            "status",
            "created_at",
            "created_by",
            "approved_at",
            "approved_by",
            "paid_at",
            "paid_by",
            "payment_reference",
            "voided_at",
            "voided_by",
            "void_reason",
        ]
        read_only_fields = fields


class StatementQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Statement.Status.choices, required=False)
    campaign = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


class CreateStatementsSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    start = serializers.DateTimeField(help_text="Period start (inclusive).")
    end = serializers.DateTimeField(help_text="Period end (exclusive).")

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": "end must be after start."})
        return attrs


class BulkApproveSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=BULK_APPROVE_LIMIT,
        help_text=f"Ids of pending statements of this server (1 to {BULK_APPROVE_LIMIT}); all or none.",
    )


class PaySerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=200, help_text="The payment's reference (e.g. PayPal transaction id).")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


@extend_schema(tags=["statements"])
@extend_schema(methods=["GET"], parameters=[StatementQuerySerializer])
class StatementViewSet(GuildScopedMixin, viewsets.ReadOnlyModelViewSet):
    """The payout queue: statements per creator, campaign and period, pending → approved → paid (with
    a reference) or voided (with a reason). Reading needs guild access; changes need owner or
    ADMINISTRATOR, are audited, and move money only through new ledger entries."""

    model = Statement
    serializer_class = StatementSerializer
    permission_classes = [IsGuildAdmin]

    def get_queryset(self):
        qs = super().get_queryset().select_related("creator").order_by("-period_end", "creator_id", "pk")
        if self.action != "list":
            return qs
        params = StatementQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = dict(params.validated_data)
        if "campaign" in filters:
            filters["campaign_id"] = filters.pop("campaign")
        return qs.filter(**filters)

    def _done(self, statement: Statement) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=statement.pk)).data)

    @extend_schema(
        request=CreateStatementsSerializer,
        responses={201: StatementSerializer(many=True), 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def create(self, request, guild_id: int):
        """A pending statement per creator with money in the campaign for the period (reruns of the
        same period skip creators who already have one). Periods never overlap: when a creator with
        money has a live (not voided) statement of the campaign covering part of the period, nothing is
        created and the answer is 409 ``period_overlaps`` naming that statement."""
        body = CreateStatementsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        campaign = Campaign.objects.for_guild(self.guild_id).filter(pk=body.validated_data["campaign_id"]).first()
        if campaign is None:
            raise ApiError("No such campaign in this server.", code="not_found", status=404)
        actor, _user = actor_of(request)
        try:
            made = create_statements(
                guild_id=self.guild_id,
                campaign=campaign,
                start=body.validated_data["start"],
                end=body.validated_data["end"],
                actor=actor,
            )
        except MoneyRefused as refused:
            raise _refused(refused) from None
        return Response(self.get_serializer(made, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: StatementSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, guild_id: int, pk: str):
        try:
            return self._done(
                approve_statement(
                    guild_id=self.guild_id, statement_id=int(pk), actor=actor_of(request)[0], request=request
                )
            )
        except MoneyRefused as refused:
            raise _refused(refused) from None

    @extend_schema(
        operation_id="guilds_statements_approve_many",
        request=BulkApproveSerializer,
        responses={
            200: StatementSerializer(many=True),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
    )
    @action(detail=False, methods=["post"], url_path="approve", pagination_class=None)
    def approve_many(self, request, guild_id: int):
        """Approve several pending statements at once (owner or ADMINISTRATOR): all or none. Each is
        audited as ``statement.approved`` and its creator told, as a single approval is. When any id
        is not a pending statement of this server nothing changes: 404 ``not_found`` names the ids not
        found here, 409 ``wrong_state`` names each statement already approved, paid or voided. Two
        bulk approvals sharing a statement never approve it twice."""
        body = BulkApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            done = approve_statements(
                guild_id=self.guild_id,
                statement_ids=body.validated_data["ids"],
                actor=actor_of(request)[0],
                request=request,
            )
        except MoneyRefused as refused:
            raise _refused(refused) from None
        rows = {s.pk: s for s in self.get_queryset().filter(pk__in=[s.pk for s in done])}
        return Response(self.get_serializer([rows[s.pk] for s in done], many=True).data)

    @extend_schema(request=PaySerializer, responses={200: StatementSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def pay(self, request, guild_id: int, pk: str):
        body = PaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            statement = mark_statement_paid(
                guild_id=self.guild_id,
                statement_id=int(pk),
                reference=body.validated_data["reference"],
                actor=actor_of(request)[0],
                request=request,
            )
        except MoneyRefused as refused:
            raise _refused(refused) from None
        return self._done(statement)

    @extend_schema(request=ReasonSerializer, responses={200: StatementSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request, guild_id: int, pk: str):
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            statement = void_statement(
                guild_id=self.guild_id,
                statement_id=int(pk),
                reason=body.validated_data["reason"],
                actor=actor_of(request)[0],
                request=request,
            )
        except MoneyRefused as refused:
            raise _refused(refused) from None
        return self._done(statement)


PAYOUT_CSV_HEADER = PAYOUT_HEADER


class PayoutExportView(CSVExportMixin, APIView):
    """Approved statements ready for payment as CSV, with each creator's payout address decrypted (the
    one place it is shown in full). Owner or ADMINISTRATOR only; each export is audited."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [IsGuildAdminForReads]

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, one approved statement per row."),
            (403, "application/json"): ErrorSerializer,
        },
        tags=["exports"],
    )
    def get(self, request, guild_id: int):
        rows = payout_rows(guild_id)
        audit(request, guild_id=guild_id, action="payouts.export", target_type="statement", after={"rows": len(rows)})
        return csv_response(f"payouts-{guild_id}.csv", PAYOUT_CSV_HEADER, rows)


class XLSXRenderer(BaseRenderer):
    """Lets content negotiation accept the XLSX type; the view builds its own body."""

    media_type = XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else b""


class PayoutXLSXExportView(APIView):
    """The same approved statements as the payouts CSV, as an Excel workbook: same columns and rows,
    amounts as numbers with two decimals, addresses in full. Owner or ADMINISTRATOR only; audited."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [IsGuildAdminForReads]
    renderer_classes = [XLSXRenderer, JSONRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # errors: JSON in the one error shape
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="XLSX, one approved statement per row (the CSV's columns)."
            ),
            (403, "application/json"): ErrorSerializer,
        },
        tags=["exports"],
    )
    def get(self, request, guild_id: int):
        rows = payout_rows(guild_id)
        audit(
            request,
            guild_id=guild_id,
            action="payouts.export",
            target_type="statement",
            after={"rows": len(rows), "format": "xlsx"},
        )
        response = HttpResponse(
            xlsx_bytes(title="Payouts", header=PAYOUT_HEADER, rows=rows), content_type=XLSX_CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="payouts-{guild_id}.xlsx"'
        return response


class ReopenPostView(APIView):
    """Reopen a finalized post (owner or ADMINISTRATOR, with a reason; audited): it is held for review,
    and its next finalization books any change in money as a ledger adjustment."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [IsGuildAdmin]

    @extend_schema(request=ReasonSerializer, responses={200: OpenApiTypes.OBJECT, 409: ErrorSerializer}, tags=["posts"])
    def post(self, request, guild_id: int, post_id: int):
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            post = reopen_post(
                guild_id=guild_id,
                post_id=post_id,
                reason=body.validated_data["reason"],
                actor=actor_of(request)[0],
                request=request,
            )
        except MoneyRefused as refused:
            raise _refused(refused) from None
        return Response({"post_id": post.pk, "status": post.status, "status_reason": post.status_reason})


# ---------------------------------------------------------------------------------------------
# Weekly bonuses booked in the ledger
# ---------------------------------------------------------------------------------------------


class BonusEntrySerializer(EarningBonusSerializer):
    """A booked bonus (the earnings' bonus rows) with when it was booked and whether it is paid."""

    booked_at = serializers.DateTimeField()
    paid = serializers.BooleanField()
    paid_at = serializers.DateTimeField(allow_null=True)
    paid_by = serializers.CharField(allow_blank=True)
    payment = serializers.CharField(allow_blank=True, help_text="The payment entry's reason, with its reference.")


class BonusQuerySerializer(serializers.Serializer):
    paid = serializers.BooleanField(required=False, allow_null=True, default=None)


def _bonus_document(entry: LedgerEntry, payment: LedgerEntry | None) -> dict:
    return {
        "ledger_entry_id": entry.pk,
        "creator_id": entry.creator_id,
        "discord_user_id": entry.creator.discord_user_id,
        "username": entry.creator.username,
        "week_start": entry.bonus_award.week_start,
        "rule": entry.bonus_award.rule.name,
        "currency": entry.currency,
        "amount": str(entry.amount),
        "booked_at": entry.created_at,
        "paid": payment is not None,
        "paid_at": payment.created_at if payment else None,
        "paid_by": payment.actor if payment else "",
        "payment": payment.reason if payment else "",
    }


class BonusesView(APIView):
    """Weekly bonuses booked in the ledger (one ``bonus`` entry per award, in the rule's currency),
    newest week first, with whether each is paid. ``?paid=false`` lists those still to pay."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [HasGuildAccess]

    @extend_schema(
        parameters=[BonusQuerySerializer], responses={200: BonusEntrySerializer(many=True)}, tags=["bonuses"]
    )
    def get(self, request, guild_id: int):
        params = BonusQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        pairs = bonus_entries(guild_id=guild_id, paid=params.validated_data.get("paid"))
        rows = [_bonus_document(bonus, payment) for bonus, payment in pairs]
        return Response(BonusEntrySerializer(rows, many=True).data)


class PayBonusView(APIView):
    """Mark a booked weekly bonus paid with the payment's reference (owner or ADMINISTRATOR; audited):
    one payment entry in the ledger, once — a second attempt is 409."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [IsGuildAdmin]

    @extend_schema(
        request=PaySerializer,
        responses={200: BonusEntrySerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        tags=["bonuses"],
    )
    def post(self, request, guild_id: int, entry_id: int):
        body = PaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            payment = pay_bonus(
                guild_id=guild_id,
                entry_id=entry_id,
                reference=body.validated_data["reference"],
                actor=actor_of(request)[0],
                request=request,
            )
        except MoneyRefused as refused:
            raise _refused(refused) from None
        bonus = LedgerEntry.objects.for_guild(guild_id).select_related("creator", "bonus_award__rule").get(pk=entry_id)
        return Response(BonusEntrySerializer(_bonus_document(bonus, payment)).data)


# ---------------------------------------------------------------------------------------------
# One creator's money (what /stats and the dashboard's creators page show)
# ---------------------------------------------------------------------------------------------


class CreatorMoneySerializer(serializers.Serializer):
    currency = serializers.CharField()
    earned = serializers.DecimalField(**_DEC, help_text="Payable campaign money, all time (not held).")
    held = serializers.DecimalField(**_DEC, help_text="Money of flagged posts awaiting review.")
    bonuses = serializers.DecimalField(**_DEC, help_text="Weekly bonuses booked in the ledger.")
    approved = serializers.DecimalField(**_DEC, help_text="In approved statements not paid yet (pending payment).")
    paid = serializers.DecimalField(**_DEC, help_text="Paid statements and paid bonuses.")
    to_pay = serializers.DecimalField(**_DEC, help_text="earned + bonuses - paid.")


class CreatorMoneyDocumentSerializer(serializers.Serializer):
    creator_id = serializers.IntegerField()
    discord_user_id = serializers.CharField()
    username = serializers.CharField()
    at = serializers.DateTimeField(help_text="When these numbers were computed.")
    money = CreatorMoneySerializer(many=True, help_text="One entry per currency; empty without any money.")


class CreatorMoneyView(APIView):
    """One creator's money per currency, from the earnings selector: the numbers of ``/stats`` and of
    the dashboard's creators page (earned, held, bonuses, approved, paid, to pay)."""

    authentication_classes = DEFAULT_AUTHENTICATION
    permission_classes = [HasGuildAccess]

    @extend_schema(responses={200: CreatorMoneyDocumentSerializer, 404: ErrorSerializer}, tags=["earnings"])
    def get(self, request, guild_id: int, creator_id: int):
        creator = Creator.objects.for_guild(guild_id).filter(pk=creator_id).first()
        if creator is None:
            raise ApiError("No such creator in this server.", code="not_found", status=404)
        now = timezone.now()
        rows = creators_money(guild_id=guild_id, at=now, creator_ids=[creator.pk])
        body = {
            "creator_id": creator.pk,
            "discord_user_id": creator.discord_user_id,
            "username": creator.username,
            "at": now,
            "money": rows[0].money if rows else [],
        }
        return Response(CreatorMoneyDocumentSerializer(body).data)
