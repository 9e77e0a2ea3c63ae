"""The fraud checks' thresholds on the settings page: shown with the guild's values, changed and
audited like every setting, refused with a message per field (nothing saved); the review page shows a
flag's numbers against the thresholds that applied."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.tenancy import guild_scope
from guilds.models import CreatorMessage, DashboardAuditLog, Guild
from integrations.apify.normalize import normalize_item
from metrics.ingestion import ingest_items
from tests.helpers.apify import make_posts, tiktok_item

pytestmark = pytest.mark.django_db

SETTINGS = {"logs_channel_id": "", "updates_channel_id": "", "logs_webhook_url": "", "updates_webhook_url": ""}
SETTINGS |= {"timezone": "UTC", "daily_report_hour": "9"}
FRAUD = {
    "fraud_spike_min_views": "10000",
    "fraud_spike_max_engagement_pct": "0.2",
    "fraud_views_drop_min": "100",
    "fraud_views_drop_pct": "1",
    "fraud_engagement_drop_min": "50",
    "fraud_engagement_drop_pct": "10",
}


def _url(guild, name="settings") -> str:
    return reverse(f"dashboard:{name}", args=[guild.pk])


def _guild(guild) -> Guild:
    with guild_scope(guild.pk):
        return Guild.objects.get(pk=guild.pk)


def _audit(guild) -> list[DashboardAuditLog]:
    with guild_scope(guild.pk):
        return list(DashboardAuditLog.objects.filter(guild=guild).order_by("pk"))


def test_the_page_shows_the_guilds_thresholds_and_saves_changes_audited(admin_client, guild):
    page = admin_client.get(_url(guild)).content.decode()
    assert "Fraud checks" in page
    assert 'name="fraud_spike_min_views" value="10000"' in page
    assert 'name="fraud_spike_max_engagement_pct" value="0.2"' in page

    r = admin_client.post(
        _url(guild), {**SETTINGS, **FRAUD, "fraud_spike_min_views": "2,500", "fraud_views_drop_pct": "0.5"}
    )
    assert (r.status_code, r["Location"]) == (302, _url(guild))
    stored = _guild(guild)
    assert (stored.fraud_spike_min_views, stored.fraud_views_drop_pct) == (2_500, Decimal("0.50"))
    assert stored.fraud_engagement_drop_pct == Decimal("10.00")  # unchanged
    [entry] = _audit(guild)
    assert entry.action == "guild.update"
    assert entry.before == {"fraud_spike_min_views": 10_000, "fraud_views_drop_pct": "1.00"}
    assert entry.after == {"fraud_spike_min_views": 2_500, "fraud_views_drop_pct": "0.50"}
    page = admin_client.get(_url(guild)).content.decode()
    assert "Settings saved." in page and 'name="fraud_views_drop_pct" value="0.5"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fraud_spike_min_views", "-5", "Must be a whole number from 1 to 1,000,000,000."),
        ("fraud_spike_min_views", "0", "Must be a whole number from 1 to 1,000,000,000."),
        ("fraud_spike_min_views", "99999999999", "Must be a whole number from 1 to 1,000,000,000."),
        ("fraud_spike_max_engagement_pct", "0", "0 % would never flag a spike."),
        ("fraud_spike_max_engagement_pct", "250", "above 0 to 100, with at most 2 decimals"),
        ("fraud_views_drop_pct", "-1", "from 0 to 99.99, with at most 2 decimals"),
        ("fraud_views_drop_pct", "100", "from 0 to 99.99"),
        ("fraud_engagement_drop_pct", "0.125", "with at most 2 decimals"),
        ("fraud_engagement_drop_pct", "lots", "Must be a percentage from 0 to 99.99"),
        ("fraud_engagement_drop_min", "", "Must be a whole number from 0 to 1,000,000,000."),
    ],
)
def test_a_bad_threshold_is_a_400_with_its_message_and_nothing_saved(admin_client, guild, field, value, message):
    r = admin_client.post(_url(guild), {**SETTINGS, **FRAUD, "timezone": "Europe/Paris", field: value})
    assert r.status_code == 400
    assert message in r.context["form"].errors[field][0]
    assert message.replace("'", "&#x27;") in r.content.decode()
    stored = _guild(guild)
    assert (stored.timezone, getattr(stored, field)) == ("UTC", Guild._meta.get_field(field).default)
    assert _audit(guild) == []


def test_a_form_without_the_thresholds_keeps_them(admin_client, guild):
    with guild_scope(guild.pk):
        Guild.objects.filter(pk=guild.pk).update(fraud_spike_min_views=777)
    assert admin_client.post(_url(guild), {**SETTINGS, "timezone": "Europe/Paris"}).status_code == 302
    stored = _guild(guild)
    assert (stored.timezone, stored.fraud_spike_min_views) == ("Europe/Paris", 777)


def test_managers_see_the_thresholds_read_only(manager_client, guild):
    page = manager_client.get(_url(guild)).content.decode()
    assert 'name="fraud_spike_min_views" value="10000"' in page and "Save settings" not in page
    assert manager_client.post(_url(guild), {**SETTINGS, **FRAUD, "fraud_spike_min_views": "5"}).status_code == 403
    assert _guild(guild).fraud_spike_min_views == 10_000


def test_the_review_page_shows_the_numbers_against_the_guilds_thresholds(admin_client, guild):
    with guild_scope(guild.pk):
        Guild.objects.filter(pk=guild.pk).update(fraud_views_drop_min=0, fraud_views_drop_pct=Decimal("0.5"))
    (post,) = make_posts(guild, 1)
    at = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    for when, views in ((at, 10_000), (at + timedelta(hours=1), 9_900)):  # -1 %: the defaults allow it
        item = normalize_item(platform="tiktok", item=tiktok_item(post, views=views))
        ingest_items(guild_id=guild.id, platform="tiktok", items=[item], captured_at=when, provider="apify")
    page = admin_client.get(_url(guild, "review")).content.decode()
    assert "1 post waiting for a decision" in page
    note = (
        "This server flags views dropping by more than 0 or 0.5 % (the larger), likes or comments by more than"
        " 50 or 10 %; 5 % more for counts the platform rounded (1.2K)."
    )
    assert f"Counts went down: views 10,000 → 9,900 (-1 %). {note}" in page
    post_page = admin_client.get(reverse("dashboard:post-detail", args=[guild.pk, post.pk])).content.decode()
    assert "Counts went down: views 10,000 → 9,900 (-1 %)." in post_page and note in post_page
    with guild_scope(guild.pk):
        [message] = CreatorMessage.objects.filter(guild=guild, kind=CreatorMessage.Kind.FLAGGED)
    # the creator learns the numbers, not how far they may go unnoticed
    assert "views 10,000 → 9,900 (-1 %)" in message.body and "This server flags" not in message.body
