"""manage.py earnings: what each creator earned in a period, per post, from earnings.selectors."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.tenancy import guild_scope
from earnings.selectors import earnings, earnings_document
from guilds.models import Guild
from metrics.periods import PERIODS, PeriodQuerySerializer, period_window
from tracking.models import Campaign


class Command(BaseCommand):
    help = (
        "Money earned per creator and post in a period (the same numbers as the API and CSV export), and "
        "the weekly bonuses booked for weeks starting in it (listed apart, not in the total). "
        "Give --period, or --start and --end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--guild", required=True, help="Discord guild id (snowflake).")
        parser.add_argument("--campaign", help="Only this campaign (its id); default: every campaign.")
        parser.add_argument("--period", choices=tuple(PERIODS), help="A named period in the guild's time zone.")
        parser.add_argument("--start", help="First day, inclusive (YYYY-MM-DD), with --end.")
        parser.add_argument("--end", help="Last day, inclusive (YYYY-MM-DD), with --start.")
        parser.add_argument("--json", action="store_true", help="Print the JSON contract instead of a table.")

    def handle(self, *args, **options) -> None:
        guild_id, campaign_id = _id(options["guild"], "--guild"), None
        if options["campaign"] is not None:
            campaign_id = _id(options["campaign"], "--campaign")
        params = _period_params(options)
        with guild_scope(guild_id):
            guild = Guild.objects.filter(pk=guild_id).first()
            if guild is None:
                raise CommandError(f"No guild {guild_id}.")
            if campaign_id is not None and not Campaign.objects.for_guild(guild_id).filter(pk=campaign_id).exists():
                raise CommandError(f"Guild {guild_id} has no campaign {campaign_id}.")
            _label, start, end = period_window(params, tz=guild.tz)
            result = earnings(guild_id=guild_id, start=start, end=end, campaign_id=campaign_id)
        document = earnings_document(result)
        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2))
            return
        self._table(document)

    def _table(self, document: dict) -> None:
        self.stdout.write(f"Earnings {document['start']} → {document['end']}")
        for c in document["creators"]:
            capped = " (capped)" if c["capped"] else ""
            self.stdout.write(
                f"{c['username']} {c['discord_user_id']}: {_fmt(c['amount'])}{capped}, held {_fmt(c['held_amount'])}"
            )
            for p in c["posts"]:
                held = f" HELD: {p['hold_reason'] or 'flagged'}" if p["held"] else ""
                self.stdout.write(
                    f"  post {p['post_id']} {p['views_payable']} views {p['amount']} {p['currency']}{held}"
                )
        self.stdout.write(f"Total {_fmt(document['total'])}, held {_fmt(document['held_total'])}")
        for b in document["bonuses"]:
            self.stdout.write(
                f"Bonus {b['username']} {b['discord_user_id']}: {b['rule']}, week of {b['week_start']}, "
                f"{b['amount']} {b['currency']}"
            )
        if document["bonuses"]:
            self.stdout.write(f"Bonuses {_fmt(document['bonus_total'])} (not part of the total)")


def _fmt(amounts: dict[str, str]) -> str:
    return ", ".join(f"{v} {k}" for k, v in amounts.items()) or "0.00"


def _id(raw: str, option: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise CommandError(f"{option} must be a numeric id, got {raw!r}.")
    return int(raw)


def _period_params(options: dict) -> dict:
    if options["period"] is None and options["start"] is None and options["end"] is None:
        raise CommandError("Give --period, or --start and --end.")
    data = {k: options[k] for k in ("period", "start", "end") if options[k] is not None}
    params = PeriodQuerySerializer(data=data)
    if not params.is_valid():
        problems = "; ".join(f"--{k}: {' '.join(str(m) for m in v)}" for k, v in params.errors.items())
        raise CommandError(problems)
    return params.validated_data
