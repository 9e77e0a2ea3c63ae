"""Captions are checked as the platform shows them: the caption the first scrape returns, and again
when a scrape returns a different one — the campaign's rules always, OpenAI when configured and
budgeted. A caption nobody has scraped yet is never checked (a /submit has none at all)."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest
from django.db import connection

import metrics.captions
from guilds.models import GuildApiUsage, GuildBudgetConfig
from metrics.captions import check_captions, check_due_captions
from metrics.ingestion import ingest_items
from metrics.models import VideoMetrics
from tests.helpers.submissions import NOW
from tests.integrations.openai.helpers import API_KEY, FakeOpenAI, answering, failing
from tracking.models import ClientAccount, FraudSignal, Post
from tracking.platforms.items import MetricsItem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("screenshots_in_tmp")]

GOOD = "New drop from @acme is here #ad"


@pytest.fixture
def openai_on(settings, monkeypatch):
    """OPENAI_API_KEY set, and OpenAI faked at its HTTP transport; returns a setter for the fake."""
    settings.OPENAI_API_KEY = API_KEY

    def use(fake: FakeOpenAI) -> FakeOpenAI:
        monkeypatch.setattr(metrics.captions, "checker_from_settings", fake.checker)
        return fake

    return use


@pytest.fixture
def rules(brand, bypass):
    with bypass():
        ClientAccount.objects.filter(pk=brand.pk).update(required_tags=["#ad", "@acme"], banned_words=["scam"])
        brand.refresh_from_db()
    return brand


@pytest.fixture
def post(submit, rules):
    return submit().post


def scrape(post, caption, *, at=None):
    """A scrape of ``post`` that returns ``caption`` (what ingestion stores from an Apify item)."""
    item = MetricsItem(platform=post.platform, external_id=post.external_id, views=1000, likes=10, caption=caption)
    ingest_items(
        guild_id=post.guild_id,
        platform=post.platform,
        items=[item],
        captured_at=at or NOW + timedelta(hours=1),
        provider=VideoMetrics.Provider.APIFY,
    )


def usage(bypass, guild):
    with bypass():
        row = GuildApiUsage.objects.filter(guild=guild).first()
    return (row.openai_call_count, row.openai_tokens_used) if row else (0, 0)


def state(bypass, post):
    with bypass():
        post = Post.objects.get(pk=post.pk)
        signals = list(FraudSignal.objects.filter(post=post).values_list("kind", flat=True))
    return post.status, post.caption_verdict, post.caption_reasons, signals


def test_a_submission_is_never_flagged_for_a_caption_nobody_has_scraped(submit, rules, bypass):
    result = submit(caption="typed by the creator, without any tag")

    assert result.caption_verdict == "unchecked" and result.post.status == "submitted"
    check_due_captions()
    assert state(bypass, result.post) == ("submitted", "unchecked", [], [])


def test_the_first_scraped_caption_is_checked_against_the_campaign_rules(guild, post, bypass):
    scrape(post, "total scam #ad")

    summary = check_due_captions(guild_id=guild.id)

    assert (summary.checked, summary.failed, summary.openai_calls) == (1, 1, 0)
    status, verdict, reasons, signals = state(bypass, post)
    assert (status, verdict, signals) == ("flagged", "fail", ["caption"])
    assert reasons == ["missing required tag @acme", 'contains banned word "scam"']
    assert usage(bypass, guild) == (0, 0)


def test_without_a_key_a_caption_that_keeps_the_rules_passes(guild, post, bypass):
    scrape(post, GOOD)

    check_due_captions()

    assert state(bypass, post) == ("tracking", "pass", [], [])
    assert usage(bypass, guild) == (0, 0)


def test_openai_verdict_is_recorded_and_the_call_and_tokens_are_counted(guild, post, openai_on, bypass):
    fake = openai_on(answering("warn", ["'teh' should be 'the'"], total_tokens=123))
    scrape(post, "teh new drop from @acme #ad")

    summary = check_due_captions()

    assert summary.openai_calls == 1 and len(fake.requests) == 1
    assert fake.body()["input"] == "teh new drop from @acme #ad"
    assert state(bypass, post) == ("tracking", "warn", ["'teh' should be 'the'"], [])
    assert usage(bypass, guild) == (1, 123)


def test_an_openai_fail_flags_the_post_for_review(guild, post, openai_on, bypass):
    openai_on(answering("fail", ["contains a slur"], total_tokens=77))
    scrape(post, GOOD)

    check_due_captions()

    assert state(bypass, post) == ("flagged", "fail", ["contains a slur"], ["caption"])


def test_exhausted_weekly_budget_makes_no_http_call(guild, post, openai_on, bypass):
    fake = openai_on(answering("fail", ["should not be asked"]))
    with bypass():
        GuildBudgetConfig.objects.filter(guild=guild).update(weekly_openai_call_limit=0)
    scrape(post, GOOD)

    check_due_captions()

    assert fake.requests == []
    assert state(bypass, post)[1] == "pass"
    assert usage(bypass, guild) == (0, 0)


def test_a_rule_breaking_caption_costs_no_openai_call(guild, post, openai_on, bypass):
    fake = openai_on(answering("pass", []))
    scrape(post, "no tags here")

    check_due_captions()

    assert fake.requests == [] and state(bypass, post)[1] == "fail"


@pytest.mark.parametrize(
    ("fake", "why"),
    [
        (
            failing(503, {"message": "overloaded", "type": "server_error"}),
            "OpenAI: OpenAI answered HTTP 503: overloaded",
        ),
        (
            FakeOpenAI(lambda request: (_ for _ in ()).throw(httpx2.ConnectError("refused"))),
            "OpenAI: could not reach OpenAI",
        ),
    ],
)
def test_an_openai_failure_is_a_warning_for_a_person_never_an_error(guild, post, openai_on, bypass, fake, why):
    openai_on(fake)
    scrape(post, GOOD)

    check_due_captions()

    status, verdict, reasons, _ = state(bypass, post)
    assert (status, verdict) == ("tracking", "warn")
    assert reasons == [metrics.captions.COULD_NOT_CHECK, why]
    assert API_KEY not in " ".join(reasons)
    assert usage(bypass, guild) == (1, 0)  # the attempt is one unit of the budget


def test_a_caption_edited_on_the_platform_is_checked_again(guild, post, openai_on, bypass):
    fake = openai_on(answering("pass", []))
    scrape(post, GOOD)
    check_due_captions()
    scrape(post, GOOD, at=NOW + timedelta(hours=2))  # the same caption again: nothing to check
    check_due_captions()
    assert len(fake.requests) == 1

    scrape(post, "edited: now a scam #ad @acme", at=NOW + timedelta(hours=3))
    check_due_captions()

    assert len(fake.requests) == 1  # the edit breaks a rule: no OpenAI call needed
    with bypass():
        stored = Post.objects.get(pk=post.pk)
    assert (stored.caption, stored.caption_verdict) == ("edited: now a scam #ad @acme", "fail")


def test_a_verdict_for_a_caption_that_changed_meanwhile_is_not_recorded(guild, post, openai_on, bypass):
    def edit_while_asking(request):
        scrape(post, "edited while OpenAI thought #ad @acme", at=NOW + timedelta(hours=5))
        return answering("fail", ["old caption"]).handler(request)

    openai_on(FakeOpenAI(edit_while_asking))
    scrape(post, GOOD)

    summary = check_captions(guild_id=guild.id)

    assert summary.checked == 0
    with bypass():
        stored = Post.objects.get(pk=post.pk)
    assert (stored.caption_verdict, stored.status) == ("unchecked", "tracking")  # the new caption waits its turn


def test_openai_is_called_with_no_transaction_open(guild, post, openai_on, bypass):
    depth_at_call = []
    baseline = len(connection.atomic_blocks)

    def record_depth(request):
        depth_at_call.append(len(connection.atomic_blocks) - baseline)
        return answering("pass", []).handler(request)

    openai_on(FakeOpenAI(record_depth))
    scrape(post, GOOD)

    check_due_captions()

    assert depth_at_call == [0]


def test_a_post_in_a_campaign_is_checked_against_the_campaigns_brief_not_its_accounts(guild, post, bypass):
    from tests.factories import make_campaign

    with bypass():
        campaign = make_campaign(guild, client_account=post.client_account, name="Winter", required_tags=["#winter"])
        Post.objects.filter(pk=post.pk).update(campaign=campaign)
    scrape(post, GOOD)  # keeps the account's rules (#ad, @acme), not the campaign's

    check_due_captions(guild_id=guild.id)

    status, verdict, reasons, _ = state(bypass, post)
    assert (status, verdict, reasons) == ("flagged", "fail", ["missing required tag #winter"])
