"""Forms of the dashboard pages: list filters, the review box, the budget and guild settings, bonus
rules and client accounts."""

from __future__ import annotations

import functools
import importlib.resources
from datetime import UTC, datetime
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from core.values import FieldsRefused
from dashboard.selectors import PERIODS, POST_SORTS
from guilds.bonus_rules import BONUS_RULE_FIELDS, BONUS_TOP_PLACES
from guilds.budgets import BUDGET_BOUNDS, BUDGET_FIELDS, budget_problems
from guilds.guild_settings import FRAUD_THRESHOLD_FIELDS, WEBHOOK_FIELDS, mask_webhook_url, timezone_choices
from guilds.models import BonusRule, Guild, GuildBudgetConfig
from tracking.campaigns import CAMPAIGN_FIELDS
from tracking.models import CURRENCIES, Campaign, ClientAccount, Post
from tracking.platforms import registry


class PostFilterForm(forms.Form):
    """GET filters of the posts table. Unknown values are ignored (the field is dropped), never a 500."""

    q = forms.CharField(required=False, max_length=2048, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Post.Status.choices])
    platform = forms.ChoiceField(required=False, choices=lambda: [("", "Any platform"), *registry.choices()])
    creator = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Creator")
    client = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Client account")
    sort = forms.ChoiceField(
        required=False, choices=[("", "Newest"), *((f"{d}{k}", k) for k in POST_SORTS for d in ("", "-"))]
    )

    def __init__(self, *args, creators=(), clients=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["creator"].choices = [("", "Any creator"), *((c.pk, c.username) for c in creators)]
        self.fields["client"].choices = [("", "Any client"), *((c.pk, c.name) for c in clients)]

    def filters(self) -> dict:
        """The valid filters, as keyword arguments of ``dashboard.selectors.search_posts``."""
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}
        return {
            "q": data.get("q") or "",
            "status": data.get("status") or "",
            "platform": data.get("platform") or "",
            "creator_id": data.get("creator"),
            "client_account_id": data.get("client"),
            "sort": data.get("sort") or "",
        }


class ReviewForm(forms.Form):
    ACTIONS = [("approve", "Approve"), ("reject", "Reject"), ("flag", "Flag for review")]

    action = forms.ChoiceField(choices=ACTIONS)
    reason = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required to reject; the creator sees it.",
    )


class PeriodForm(forms.Form):
    period = forms.ChoiceField(choices=list(PERIODS.items()), required=False)

    def chosen(self) -> str:
        """The chosen period; this week when none is asked for. Raises ``UnknownPeriod`` for one that
        does not exist (the page answers 400 saying so, as the API does)."""
        if not self.is_bound:
            return "week"
        if not self.is_valid():
            asked = str(self.data.get("period", ""))[:40]
            raise UnknownPeriod(f"Unknown period {asked!r}: use one of {', '.join(PERIODS)}.")
        return self.cleaned_data.get("period") or "week"


class UnknownPeriod(ValueError):
    """``?period=`` names no period."""


class BudgetForm(forms.ModelForm):
    """The guild's budgets and refresh cadence. Limits are bounded so a typo cannot order a
    million Apify runs, and intervals must grow from young to dormant posts."""

    class Meta:
        model = GuildBudgetConfig
        fields = BUDGET_FIELDS
        labels = {
            "daily_apify_run_limit": "Apify runs per day",
            "daily_youtube_quota_units": "YouTube quota units per day",
            "weekly_openai_call_limit": "Caption checks (OpenAI calls) per week",
            "apify_max_items_per_run": "Posts per Apify run (max)",
            "young_post_hours": "A post is young for (hours)",
            "young_interval_minutes": "Young / hot posts: refresh every (minutes)",
            "growing_interval_minutes": "Growing posts: refresh every (minutes)",
            "flat_interval_hours": "Flat posts: refresh every (hours)",
            "dormant_interval_hours": "Dormant posts: refresh every (hours)",
            "max_backoff_hours": "After failures, wait at most (hours)",
        }

    BOUNDS = BUDGET_BOUNDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (low, high) in self.BOUNDS.items():
            field = self.fields[name]
            field.min_value, field.max_value = low, high
            field.validators = [v for v in field.validators if not hasattr(v, "limit_value")]
            label = str(field.label)
            field.error_messages = {
                **field.error_messages,
                "required": f"Fill in “{label}”: a whole number from {low:,} to {high:,}.",
                "invalid": f"“{label}” takes a whole number from {low:,} to {high:,}, like {low:,}.",
            }
            field.validators += [
                MinValueValidator(low, message=f"“{label}” must be at least {low:,}."),
                MaxValueValidator(
                    high, message=f"“{label}” can be at most {high:,}; a larger number is likely a typo."
                ),
            ]
            field.widget.attrs.update({"min": low, "max": high, "inputmode": "numeric"})

    def clean(self):
        data = super().clean()
        if all(name in data for name in BUDGET_FIELDS):  # bounds already checked per field
            for name, message in budget_problems(values=data).items():
                self.add_error(name, message)
        return data


# --- settings, bonus rules, client accounts ---------------------------------------------------
# These forms only collect what was typed: the rules (and their messages) are the services', so the
# dashboard and the API refuse the same input with the same words. ``changes()`` is the service's
# input; ``show_refusal()`` puts the service's per-field messages back on the form.


class ServiceForm(forms.Form):
    """A form whose validation is a service's: fields are text, the service converts and checks."""

    # service field name → form field name, where they differ
    ALIASES: dict[str, str] = {}

    def show_refusal(self, refused: FieldsRefused) -> None:
        for name, message in refused.fields.items():
            target = self.ALIASES.get(name, name)
            self.add_error(target if target in self.fields else None, message)

    def disable(self) -> None:
        """Read-only: for people who may look but not change."""
        for field in self.fields.values():
            field.disabled = True


def _text(label: str, *, help_text: str = "", max_length: int = 300, **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        strip=True,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs),
    )


def _lines_field(label: str, help_text: str) -> forms.CharField:
    """A list typed one item per line (or separated by commas); the service splits and checks it."""
    return forms.CharField(
        label=label, required=False, max_length=20_000, help_text=help_text, widget=forms.Textarea(attrs={"rows": 3})
    )


def _number(label: str, *, help_text: str = "", **attrs) -> forms.CharField:
    widget = forms.NumberInput(attrs={"inputmode": "numeric", **attrs})
    return forms.CharField(label=label, required=False, max_length=40, help_text=help_text, widget=widget)


REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


@functools.cache
def _canonical_zones() -> tuple[str, ...]:
    """The IANA zones themselves ("Z" lines of tzdata), without the deprecated aliases ("L" lines)."""
    text = importlib.resources.files("tzdata").joinpath("zoneinfo/tzdata.zi").read_text(encoding="utf-8")
    names = {line.split()[1] for line in text.splitlines() if line.startswith("Z ")}
    return tuple(sorted(n for n in names & set(timezone_choices()) if n.split("/")[0] in REGIONS))


def timezone_groups(*, current: str = "") -> list:
    """The time-zone select: UTC, then one group per region ("Europe" → "Paris", ...), no aliases.
    A guild still on an alias (say "US/Eastern") keeps it, shown first."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in _canonical_zones():
        region, _, place = name.partition("/")
        groups.setdefault(region, []).append((name, place.replace("_", " ").replace("/", " / ")))
    head = [("UTC", "UTC")]
    if current and current != "UTC" and current not in _canonical_zones():
        head.insert(0, (current, f"{current} (current)"))
    return [*head, *groups.items()]


class SecretInput(forms.TextInput):
    """A text box that never shows the stored webhook URL (only its mask, as the placeholder); what the
    admin just typed is kept when the form comes back with an error, so it need not be typed again."""


def _secret(label: str, *, help_text: str = "") -> forms.CharField:
    widget = SecretInput(attrs={"autocomplete": "off", "spellcheck": "false"})
    return forms.CharField(label=label, required=False, max_length=300, help_text=help_text, widget=widget)


class GuildSettingsForm(ServiceForm):
    """Where the guild's messages go, its time zone and the hour of its daily report. Webhook URLs are
    secrets: the page shows the stored ones masked and never fills them in (a URL typed in this very
    request is kept on an error); leave one blank to keep it, or tick "remove" to clear it."""

    logs_channel_id = _text("Logs channel id", help_text="Submissions and failures.", inputmode="numeric")
    logs_webhook_url = _secret("Logs webhook URL", help_text="Optional; used instead of the bot.")
    clear_logs_webhook_url = forms.BooleanField(required=False, label="Remove the logs webhook")
    updates_channel_id = _text("Updates channel id", help_text="Daily reports and bonuses.", inputmode="numeric")
    updates_webhook_url = _secret("Updates webhook URL", help_text="Optional.")
    clear_updates_webhook_url = forms.BooleanField(required=False, label="Remove the updates webhook")
    timezone = forms.CharField(label="Time zone", required=False, max_length=64)
    daily_report_hour = forms.CharField(label="Daily report hour (local)", required=False, max_length=4)
    fraud_spike_min_views = _number("Spike: views gained from", help_text="Since the previous measurement.")
    fraud_spike_max_engagement_pct = _number(
        "Spike: flagged under this % engagement",
        help_text="Likes + comments gained per view gained.",
        step="0.01",
        inputmode="decimal",
    )
    fraud_views_drop_min = _number("Views may drop by", help_text="Or by the % below, whichever is larger.")
    fraud_views_drop_pct = _number("Views may drop by (%)", step="0.01", inputmode="decimal")
    fraud_engagement_drop_min = _number("Likes or comments may drop by", help_text="People do un-like.")
    fraud_engagement_drop_pct = _number("Likes or comments may drop by (%)", step="0.01", inputmode="decimal")

    def __init__(self, *args, guild: Guild, **kwargs):
        initial = {name: getattr(guild, name) for name in ("logs_channel_id", "updates_channel_id", "timezone")}
        initial["daily_report_hour"] = str(guild.daily_report_hour)
        for name in FRAUD_THRESHOLD_FIELDS:
            value = getattr(guild, name)
            initial[name] = f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["timezone"].widget = forms.Select(choices=timezone_groups(current=guild.timezone))
        hours = [(str(h), f"{h:02d}:00") for h in range(24)]
        self.fields["daily_report_hour"].widget = forms.Select(choices=hours)
        for name in WEBHOOK_FIELDS:
            masked = mask_webhook_url(getattr(guild, name))
            self.fields[name].widget.attrs["placeholder"] = masked or "https://discord.com/api/webhooks/…"
            self.fields[name].masked = masked

    def changes(self) -> dict:
        data = {n: self.cleaned_data[n] for n in ("logs_channel_id", "updates_channel_id", "timezone")}
        data["daily_report_hour"] = self.cleaned_data["daily_report_hour"]
        # A threshold left out of the request keeps its value; one sent blank is refused by the service.
        data |= {name: self.cleaned_data[name] for name in FRAUD_THRESHOLD_FIELDS if name in self.data}
        for name in WEBHOOK_FIELDS:
            if self.cleaned_data[f"clear_{name}"]:
                data[name] = ""
            elif self.cleaned_data[name]:  # blank keeps the stored (secret) URL
                data[name] = self.cleaned_data[name]
        return data


class BonusRuleForm(ServiceForm):
    """A weekly bonus: a view-gain threshold, or a place in the week's top N, with its amount."""

    name = _text("Name", max_length=200)
    kind = forms.CharField(
        label="Earned by", required=False, widget=forms.Select(choices=BonusRule.Kind.choices), max_length=20
    )
    min_views_gained = _number("Views gained in a week (threshold rules)", min=1)
    place = _number("Place on the week's leaderboard (top-N rules)", min=1, max=BONUS_TOP_PLACES)
    amount = _number("Amount", step="0.01", min=0, inputmode="decimal")
    currency = _text("Currency", max_length=10, autocomplete="off")
    active = forms.BooleanField(required=False, label="Active")

    def __init__(self, *args, rule: BonusRule | None = None, **kwargs):
        if rule is not None:
            initial = {n: "" if getattr(rule, n) is None else getattr(rule, n) for n in BONUS_RULE_FIELDS}
        else:
            initial = {"kind": BonusRule.Kind.THRESHOLD, "currency": "USD", "active": True}
        super().__init__(*args, initial=initial, **kwargs)

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in BONUS_RULE_FIELDS}


class ClientAccountForm(ServiceForm):
    """A brand: how it pays, its campaign rules and its own social accounts."""

    name = _text("Name", max_length=200)
    payout_model = forms.CharField(
        label="Payout", required=False, widget=forms.Select(choices=ClientAccount.PayoutModel.choices), max_length=20
    )
    cpm_rate = _number("Rate per 1,000 views", step="0.01", min=0, inputmode="decimal")
    counting_window_days = _number("Counting window (days)", min=1, max=365)
    required_tags = _lines_field("Required tags", "One per line (or separated by commas): #tag or @mention.")
    banned_words = _lines_field("Banned words", "One per line (or separated by commas).")
    active = forms.BooleanField(required=False, label="Active")

    def __init__(self, *args, account: ClientAccount | None = None, **kwargs):
        initial = {"payout_model": ClientAccount.PayoutModel.CPM, "cpm_rate": "0.00", "counting_window_days": "30"}
        initial["active"] = True
        if account is not None:
            initial = {n: getattr(account, n) for n in ("name", "payout_model", "cpm_rate", "counting_window_days")}
            initial["active"] = account.active
            initial["required_tags"] = "\n".join(account.required_tags or [])
            initial["banned_words"] = "\n".join(account.banned_words or [])
            for platform, handle in (account.social_accounts or {}).items():
                initial[f"social_{platform}"] = handle
        super().__init__(*args, initial=initial, **kwargs)
        for spec in registry.all_specs():
            self.fields[f"social_{spec.key}"] = _text(f"{spec.label} handle", max_length=200, autocomplete="off")
        # Per form, not per class: the platforms are the registry's when the form is built.
        self.ALIASES = {f"social_accounts.{key}": f"social_{key}" for key in registry.keys()}

    def social_fields(self):
        return [self[f"social_{key}"] for key in registry.keys()]

    def changes(self) -> dict:
        data = {n: self.cleaned_data[n] for n in ("name", "payout_model", "cpm_rate", "counting_window_days")}
        data["active"] = self.cleaned_data["active"]
        data["required_tags"] = self.cleaned_data["required_tags"]
        data["banned_words"] = self.cleaned_data["banned_words"]
        data["social_accounts"] = {key: self.cleaned_data[f"social_{key}"] for key in registry.keys()}
        return data


class CampaignForm(ServiceForm):
    """A campaign's brief (tracking.campaigns.save_campaign validates and audits it). Dates are in the
    guild's time zone; money has at most 2 decimals; an empty budget or cap means none."""

    client_account_id = forms.TypedChoiceField(label="Client account", coerce=int, choices=())
    name = forms.CharField(label="Name", max_length=100)
    status = forms.ChoiceField(label="Status", choices=Campaign.Status.choices)
    starts_at = forms.DateTimeField(
        label="Starts", input_formats=["%Y-%m-%dT%H:%M"], widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Ends",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M"],
        help_text="Empty: runs until paused or ended.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    currency = forms.ChoiceField(label="Currency", choices=[(c, c) for c in sorted(CURRENCIES)])
    total_budget = forms.DecimalField(
        label="Total budget", required=False, min_value=0, max_digits=12, decimal_places=2, help_text="Empty: no limit."
    )
    rate_per_1000 = forms.DecimalField(label="Rate per 1,000 views", min_value=0, max_digits=8, decimal_places=2)
    post_cap = forms.DecimalField(
        label="Cap per post", required=False, min_value=0, max_digits=10, decimal_places=2, help_text="Empty: none."
    )
    creator_cap = forms.DecimalField(
        label="Cap per creator", required=False, min_value=0, max_digits=12, decimal_places=2, help_text="Empty: none."
    )
    min_views = forms.IntegerField(label="Minimum views to qualify", min_value=0, max_value=10**12)
    counting_window_days = forms.IntegerField(label="Counting window (days)", min_value=1, max_value=365)
    validation_window_days = forms.IntegerField(label="Validation window (days)", min_value=0, max_value=365)
    eligible_platforms = forms.MultipleChoiceField(
        label="Eligible platforms",
        required=False,
        choices=(),
        help_text="None ticked: every platform.",
        widget=forms.CheckboxSelectMultiple,
    )
    required_tags = _lines_field("Required tags", "One per line (or separated by commas): #tag or @mention.")
    banned_words = _lines_field("Banned words", "One per line (or separated by commas).")
    baseline = forms.ChoiceField(label="Views that count", choices=Campaign.Baseline.choices)
    on_disappear = forms.ChoiceField(label="A post gone before its window ends", choices=Campaign.OnDisappear.choices)

    def __init__(self, *args, guild: Guild, campaign: Campaign | None = None, **kwargs):
        initial = {
            name: getattr(campaign or Campaign(), name)
            for name in (
                "status",
                "currency",
                "rate_per_1000",
                "min_views",
                "counting_window_days",
                "validation_window_days",
                "baseline",
                "on_disappear",
            )
        }
        if campaign is not None:
            initial |= {n: getattr(campaign, n) for n in ("client_account_id", "name", "total_budget", "post_cap")}
            initial |= {"creator_cap": campaign.creator_cap, "eligible_platforms": campaign.eligible_platforms}
            initial |= {"required_tags": "\n".join(campaign.required_tags or [])}
            initial |= {"banned_words": "\n".join(campaign.banned_words or [])}
            initial |= {f"rate_{p}": r for p, r in (campaign.platform_rates or {}).items()}

        def local(moment):  # what a datetime-local input shows: the guild's wall clock, to the minute
            return None if moment is None else timezone.localtime(moment, guild.tz).strftime("%Y-%m-%dT%H:%M")

        initial["starts_at"] = local(campaign.starts_at if campaign else timezone.now())
        initial["ends_at"] = local(campaign.ends_at if campaign else None)
        super().__init__(*args, initial=initial, **kwargs)
        accounts = ClientAccount.objects.for_guild(guild).order_by("name").values_list("pk", "name")
        self.fields["client_account_id"].choices = list(accounts)
        self.fields["eligible_platforms"].choices = [(s.key, s.label) for s in registry.all_specs()]
        for spec in registry.all_specs():
            self.fields[f"rate_{spec.key}"] = forms.DecimalField(
                label=f"{spec.label} rate per 1,000",
                required=False,
                min_value=0,
                max_digits=8,
                decimal_places=2,
                help_text="Empty: the campaign's rate.",
            )
        self.ALIASES = {"platform_rates": f"rate_{registry.keys()[0]}"}

    def rate_fields(self):
        return [self[f"rate_{key}"] for key in registry.keys()]

    def changes(self) -> dict:
        data = {n: self.cleaned_data[n] for n in CAMPAIGN_FORM_FIELDS}
        # As stored (cents, UTC), so an unchanged value is not audited as a change: 40 == 40.00.
        for name, value in data.items():
            if isinstance(value, Decimal):
                data[name] = value.quantize(Decimal("0.01"))
            elif isinstance(value, datetime):
                data[name] = value.astimezone(UTC)
        # as typed: the service splits and normalises them (tracking.caption_rules)
        data["required_tags"] = self.cleaned_data["required_tags"]
        data["banned_words"] = self.cleaned_data["banned_words"]
        data["eligible_platforms"] = list(self.cleaned_data["eligible_platforms"])
        data["platform_rates"] = {
            key: str(self.cleaned_data[f"rate_{key}"])
            for key in registry.keys()
            if self.cleaned_data.get(f"rate_{key}") is not None
        }
        return data


# The brief's fields the form hands on as cleaned; the lists and per-platform rates are shaped in
# ``changes`` (the service's own field list, less those).
CAMPAIGN_FORM_FIELDS = tuple(
    f for f in CAMPAIGN_FIELDS if f not in ("platform_rates", "eligible_platforms", "required_tags", "banned_words")
)
