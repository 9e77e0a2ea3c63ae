"""REST API about money under /api/v1/guilds/{guild_id}/: earnings (JSON) and its CSV export.

Every amount comes from ``earnings.selectors.earnings`` — the same function as ``manage.py earnings``
— so the JSON, the CSV and the command agree to the cent.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ErrorSerializer
from dashboard_auth.drf import DEFAULT_AUTHENTICATION, HasGuildAccess
from earnings.selectors import Earnings, earnings, earnings_document, to_cents
from guilds.models import Guild
from metrics.periods import PeriodQuerySerializer, period_window
from tracking.api import CSVExportMixin, csv_response
from tracking.models import Campaign


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


class EarningsSerializer(serializers.Serializer):
    guild_id = serializers.CharField()
    start = serializers.CharField()
    end = serializers.CharField()
    creators = EarningCreatorSerializer(many=True)
    total = _MONEY
    held_total = _MONEY


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
