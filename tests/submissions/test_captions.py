"""The caption check of a submission: local rules always, OpenAI only when configured and budgeted."""

from __future__ import annotations

import httpx2
import pytest

import tracking.captions
from core.tenancy import guild_scope
from guilds.models import GuildApiUsage, GuildBudgetConfig
from tests.integrations.openai.helpers import API_KEY, FakeOpenAI, answering, failing
from tracking.captions import check_caption
from tracking.models import ClientAccount, Post

pytestmark = pytest.mark.django_db

GOOD = "New drop from @acme is here #ad"


@pytest.fixture
def openai_on(settings, monkeypatch):
    """OPENAI_API_KEY set, and OpenAI faked at its HTTP transport; returns a setter for the fake."""
    settings.OPENAI_API_KEY = API_KEY
    holder: dict[str, FakeOpenAI] = {}

    def use(fake: FakeOpenAI) -> FakeOpenAI:
        holder["fake"] = fake
        monkeypatch.setattr(tracking.captions, "make_caption_checker", lambda: holder["fake"].checker())
        return fake

    return use


@pytest.fixture
def rules(brand, bypass):
    with bypass():
        ClientAccount.objects.filter(pk=brand.pk).update(required_tags=["#ad", "@acme"], banned_words=["scam"])
        brand.refresh_from_db()
    return brand


def usage(bypass, guild):
    with bypass():
        row = GuildApiUsage.objects.filter(guild=guild).first()
    return (row.openai_call_count, row.openai_tokens_used) if row else (0, 0)


def check(guild, brand, caption=GOOD):
    with guild_scope(guild.id):
        return check_caption(guild_id=guild.id, caption=caption, client_account=brand)


def test_without_a_key_only_local_rules_run_and_a_note_says_so(guild, rules, bypass):
    result = check(guild, rules)

    assert (result.verdict, result.reasons) == ("pass", [])
    assert result.notes == ["AI caption check skipped: caption checks with OpenAI are not configured."]
    assert usage(bypass, guild) == (0, 0)


def test_exhausted_weekly_budget_runs_local_rules_only_and_makes_no_http_call(guild, rules, openai_on, bypass):
    fake = openai_on(answering("pass", []))
    with bypass():
        GuildBudgetConfig.objects.filter(guild=guild).update(weekly_openai_call_limit=0)

    result = check(guild, rules)

    assert result.verdict == "pass" and result.called_openai is False
    assert result.notes == ["AI caption check skipped: this server's weekly OpenAI budget is spent."]
    assert fake.requests == []
    assert usage(bypass, guild) == (0, 0)


def test_exhausted_budget_still_fails_a_caption_that_breaks_the_rules(guild, rules, openai_on, bypass):
    fake = openai_on(answering("pass", []))
    with bypass():
        GuildBudgetConfig.objects.filter(guild=guild).update(weekly_openai_call_limit=0)

    result = check(guild, rules, caption="total scam #ad")

    assert (result.verdict, result.reasons) == ("fail", ["missing required tag @acme", 'contains banned word "scam"'])
    assert fake.requests == []


def test_openai_verdict_is_used_and_the_call_and_tokens_are_counted(guild, rules, openai_on, bypass):
    fake = openai_on(answering("warn", ["'teh' should be 'the'"], total_tokens=123))

    result = check(guild, rules, caption="teh new drop from @acme #ad")

    assert (result.verdict, result.reasons, result.notes) == ("warn", ["'teh' should be 'the'"], [])
    assert len(fake.requests) == 1 and fake.body()["input"] == "teh new drop from @acme #ad"
    assert usage(bypass, guild) == (1, 123)


def test_rule_breaking_caption_costs_no_openai_call(guild, rules, openai_on, bypass):
    fake = openai_on(answering("pass", []))

    result = check(guild, rules, caption="no tags here")

    assert result.verdict == "fail" and fake.requests == []
    assert usage(bypass, guild) == (0, 0)


@pytest.mark.parametrize(
    ("fake", "note"),
    [
        (
            failing(503, {"message": "overloaded", "type": "server_error"}),
            "AI caption check failed: OpenAI answered HTTP 503: overloaded",
        ),
        (
            FakeOpenAI(lambda request: (_ for _ in ()).throw(httpx2.ConnectError("refused"))),
            "AI caption check failed: could not reach OpenAI",
        ),
    ],
)
def test_openai_failure_is_a_warning_never_an_error(guild, rules, openai_on, bypass, fake, note):
    openai_on(fake)

    result = check(guild, rules)

    assert result.verdict == "warn"
    assert result.notes == [note]
    assert result.reasons == ["the caption could not be checked automatically; a person should read it"]
    assert API_KEY not in note
    assert usage(bypass, guild) == (1, 0)  # the attempt is one unit of the budget


def test_submission_with_openai_stores_the_verdict_and_counts_usage(submit, guild, rules, openai_on, bypass):
    openai_on(answering("fail", ["contains a slur"], total_tokens=77))

    result = submit(caption=GOOD)

    assert (result.caption_verdict, result.notes) == ("fail", [])
    with bypass():
        post = Post.objects.get()
    assert (post.status, post.caption_verdict, post.caption_reasons) == ("flagged", "fail", ["contains a slur"])
    assert usage(bypass, guild) == (1, 77)


def test_submission_survives_an_openai_outage(submit, guild, rules, openai_on, bypass):
    openai_on(failing(500, {"message": "boom"}))

    result = submit(caption=GOOD)

    assert result.created is True and result.caption_verdict == "warn"
    assert result.notes == ["AI caption check failed: OpenAI answered HTTP 500: boom"]
    with bypass():
        assert Post.objects.get().status == Post.Status.SUBMITTED
