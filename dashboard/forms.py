"""Forms of the dashboard pages: list filters, the review box and the budget settings."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from dashboard.selectors import PERIODS
from guilds.models import GuildBudgetConfig
from guilds.services import BUDGET_BOUNDS, BUDGET_FIELDS, budget_problems
from tracking.models import Post
from tracking.platforms import Platform


class PostFilterForm(forms.Form):
    """GET filters of the posts table. Unknown values are ignored (the field is dropped), never a 500."""

    q = forms.CharField(required=False, max_length=2048, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Post.Status.choices])
    platform = forms.ChoiceField(required=False, choices=[("", "Any platform"), *Platform.choices])
    creator = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Creator")
    client = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Client account")

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
        """The chosen period; this week when none or an unknown one is asked for."""
        if not self.is_valid():
            return "week"
        return self.cleaned_data.get("period") or "week"


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
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]
            field.widget.attrs.update({"min": low, "max": high, "inputmode": "numeric"})

    def clean(self):
        data = super().clean()
        if all(name in data for name in BUDGET_FIELDS):  # bounds already checked per field
            for name, message in budget_problems(values=data).items():
                self.add_error(name, message)
        return data
