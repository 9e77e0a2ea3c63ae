"""Named periods (today, this week, ...) in a guild's time zone, and the API's period parameters."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone
from rest_framework import serializers

from core.api.fields import BoundedDateField

# The named periods every surface offers (dashboard, API, slash commands), with their labels.
PERIODS: dict[str, str] = {
    "day": "Today",
    "yesterday": "Yesterday",
    "week": "This week",
    "last_week": "Last week",
    "month": "This month",
    "all": "All time",
}


def period_bounds(*, period: str, now: datetime, tz) -> tuple[datetime, datetime]:
    """[start, end) of a named period in the guild's time zone: day, yesterday, week (Monday-based),
    last_week, month, all (since 2000)."""
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return midnight, now
    if period == "yesterday":
        return midnight - timedelta(days=1), midnight
    monday = midnight - timedelta(days=midnight.weekday())
    if period == "week":
        return monday, now
    if period == "last_week":
        return monday - timedelta(days=7), monday
    if period == "month":
        return midnight.replace(day=1), now
    if period == "all":
        return datetime(2000, 1, 1, tzinfo=tz), now
    raise ValueError("period must be one of day, yesterday, week, last_week, month, all")


class PeriodQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=tuple(PERIODS), required=False, help_text="Named period in the guild's time zone."
    )
    start = BoundedDateField(required=False, help_text="First day (inclusive), instead of period.")
    end = BoundedDateField(required=False, help_text="Last day (inclusive), instead of period.")

    def validate(self, attrs):
        if ("start" in attrs) != ("end" in attrs):
            raise serializers.ValidationError({"end" if "start" in attrs else "start": "Give both start and end."})
        if "start" in attrs and "period" in attrs:
            raise serializers.ValidationError({"period": "Give either period or start and end, not both."})
        if "start" in attrs:
            if attrs["end"] < attrs["start"]:
                raise serializers.ValidationError({"end": "end must not be before start."})
            if (attrs["end"] - attrs["start"]).days > 3660:
                raise serializers.ValidationError({"end": "The range can be at most ten years."})
        return attrs


def period_window(
    params: dict, *, tz, now: datetime | None = None, default: str = "week"
) -> tuple[str, datetime, datetime]:
    """(label, start, end) for validated PeriodQuerySerializer data, in the guild's time zone."""
    now = now or timezone.now()
    if "start" in params:
        start = datetime.combine(params["start"], time.min, tzinfo=tz)
        end = datetime.combine(params["end"] + timedelta(days=1), time.min, tzinfo=tz)
        return "custom", start, end
    period = params.get("period") or default
    start, end = period_bounds(period=period, now=now, tz=tz)
    return period, start, end
