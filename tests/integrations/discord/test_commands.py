"""Each slash command's happy path and refusals, through the signed endpoint."""

import json

import pytest

import integrations.discord.commands
from core.tenancy import guild_scope, rls_bypass
from guilds.models import Creator
from tests.factories import make_campaign, make_client_account, make_creator, make_post, make_profile, make_snapshot
from tests.helpers.discord import FOLLOWUP_URL as FOLLOWUP
from tests.helpers.discord import USER_ID, followup_text, interaction, post_signed
from tracking.models import Post, Profile, ScreenshotUpload
from tracking.platforms import Platform
from tracking.review import review_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("discord_settings")]
CDN = "https://cdn.discordapp.com/attachments/1/2/proof.png"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _send(client, name, options=None, *, guild, **kw):
    response = post_signed(client, interaction(name, options, guild_id=guild.pk, **kw))
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def creator(guild):
    return make_creator(guild, discord_user_id=USER_ID, username="maya")


# --- /link ---------------------------------------------------------------------------------------


def test_link_answers_privately_with_the_code(client, guild, bypass):
    body = _send(client, "link", {"platform": "tiktok", "handle": "@Maya.Clips"}, guild=guild)
    assert body["type"] == 4 and body["data"]["flags"] == 64
    with bypass():
        profile = Profile.objects.get(guild=guild, handle="maya.clips")
        assert Creator.objects.get(guild=guild, discord_user_id=USER_ID).username == "Maya"  # upserted
    assert profile.verification_code in body["data"]["content"]
    assert "/verify platform:tiktok" in body["data"]["content"]


def test_link_refusal_shows_the_reason_and_writes_nothing(client, guild, bypass):
    other = make_creator(guild)
    make_profile(guild, other, platform=Platform.TIKTOK, handle="taken")
    body = _send(client, "link", {"platform": "tiktok", "handle": "taken"}, guild=guild)
    assert "already linked by another member" in body["data"]["content"]
    with bypass():
        assert Profile.objects.filter(guild=guild, handle="taken").get().creator_id == other.pk


def test_link_unknown_platform_is_refused(client, guild):
    body = _send(client, "link", {"platform": "myspace", "handle": "maya"}, guild=guild)
    assert "not a platform we track" in body["data"]["content"]


# --- /verify -------------------------------------------------------------------------------------


@pytest.fixture
def fake_verification(monkeypatch):
    """The bio check's start, recorded instead of calling Apify (that side has its own tests)."""
    calls = []

    def request_verification(*, profile_id, now=None):
        calls.append(profile_id)
        return "pending"

    monkeypatch.setattr(integrations.discord.commands, "request_verification", request_verification)
    return calls


def test_verify_defers_then_starts_the_check(client, guild, creator, discord, fake_verification):
    profile = make_profile(
        guild,
        creator,
        platform=Platform.TIKTOK,
        handle="maya",
        verification_status=Profile.Verification.UNVERIFIED,
        verified_at=None,
    )
    discord.patch(FOLLOWUP, json={"id": "1"})
    body = _send(client, "verify", {"platform": "tiktok"}, guild=guild)
    assert body == {"type": 5, "data": {"flags": 64}}
    assert fake_verification == [profile.pk]
    assert "Checking @maya" in followup_text(discord)


def test_verify_without_a_linked_profile_is_refused(client, guild, creator, discord, fake_verification):
    discord.patch(FOLLOWUP, json={"id": "1"})
    _send(client, "verify", {"platform": "instagram"}, guild=guild)
    assert "Run `/link` first" in followup_text(discord)
    assert fake_verification == []


def test_verify_already_verified_says_so(client, guild, creator, discord, fake_verification):
    make_profile(guild, creator, platform=Platform.TIKTOK, handle="maya")
    discord.patch(FOLLOWUP, json={"id": "1"})
    _send(client, "verify", {"platform": "tiktok"}, guild=guild)
    assert "already verified" in followup_text(discord)
    assert fake_verification == []


# --- /submit -------------------------------------------------------------------------------------


@pytest.fixture
def brand(guild):
    return make_client_account(guild, name="Acme")


def _submit(client, guild, *, client_option, screenshot=None, url=None):
    options = {"url": url or "https://www.tiktok.com/@maya/video/7300000000000000001", "client": client_option}
    resolved = None
    if screenshot:
        options["screenshot"] = "55"
        resolved = {
            "attachments": {
                "55": {"id": "55", "url": CDN, "size": screenshot, "filename": "proof.png", "content_type": "image/png"}
            }
        }
    return _send(client, "submit", options, guild=guild, resolved=resolved)


def test_submit_with_an_autocompleted_client_and_a_screenshot(client, guild, creator, brand, discord, bypass):
    make_profile(guild, creator, platform=Platform.TIKTOK, handle="maya")
    discord.patch(FOLLOWUP, json={"id": "1"})
    discord.get(CDN, body=PNG, content_type="image/png")
    body = _submit(client, guild, client_option=str(brand.pk), screenshot=len(PNG))
    assert body == {"type": 5, "data": {"flags": 64}}
    assert followup_text(discord).startswith("Submitted: https://www.tiktok.com/@maya/video/7300000000000000001")
    with bypass():
        post = Post.objects.get(guild=guild, external_id="7300000000000000001")
        assert post.client_account_id == brand.pk and post.creator_id == creator.pk
        assert ScreenshotUpload.objects.filter(post=post, size=len(PNG)).exists()


def test_submit_with_a_client_name_typed_by_hand(client, guild, creator, brand, discord, bypass):
    make_profile(guild, creator, platform=Platform.TIKTOK, handle="maya")
    discord.patch(FOLLOWUP, json={"id": "1"})
    _submit(client, guild, client_option="acme")
    with bypass():
        assert Post.objects.filter(guild=guild, client_account=brand).count() == 1


def test_submit_to_a_campaign_named_by_hand(client, guild, creator, brand, discord, bypass):
    make_profile(guild, creator, platform=Platform.TIKTOK, handle="maya")
    make_campaign(guild, client_account=brand, name="Main")
    side = make_campaign(guild, client_account=brand, name="Side quest")
    discord.patch(FOLLOWUP, json={"id": "1"})
    _send(client, "submit", {"url": "https://www.tiktok.com/@maya/video/7300000000000000001", "client": "acme",
                             "campaign": "side QUEST"}, guild=guild)  # fmt: skip
    assert followup_text(discord).startswith("Submitted:")
    with bypass():
        assert Post.objects.get(guild=guild).campaign_id == side.pk


def test_submit_to_an_unknown_campaign_is_refused(client, guild, creator, brand, discord, bypass):
    make_profile(guild, creator, platform=Platform.TIKTOK, handle="maya")
    discord.patch(FOLLOWUP, json={"id": "1"})
    _send(client, "submit", {"url": "https://www.tiktok.com/@maya/video/7300000000000000001", "client": "acme",
                             "campaign": "Nope"}, guild=guild)  # fmt: skip
    assert followup_text(discord) == "Acme has no campaign 'Nope'."
    with bypass():
        assert not Post.objects.filter(guild=guild).exists()


def test_submit_unknown_client_is_refused(client, guild, creator, brand, discord, bypass):
    make_profile(guild, creator, platform=Platform.TIKTOK, handle="maya")
    discord.patch(FOLLOWUP, json={"id": "1"})
    _submit(client, guild, client_option="Nope")
    assert "No client account 'Nope'" in followup_text(discord)
    with bypass():
        assert not Post.objects.filter(guild=guild).exists()


def test_submit_without_a_verified_profile_is_refused(client, guild, creator, brand, discord, bypass):
    discord.patch(FOLLOWUP, json={"id": "1"})
    _submit(client, guild, client_option=str(brand.pk))
    assert "verif" in followup_text(discord).lower()
    with bypass():
        assert not Post.objects.filter(guild=guild).exists()


def test_submit_oversized_screenshot_is_refused_without_downloading(
    client, guild, creator, brand, discord, settings, bypass
):
    make_profile(guild, creator, platform=Platform.TIKTOK, handle="maya")
    discord.patch(FOLLOWUP, json={"id": "1"})
    _submit(client, guild, client_option=str(brand.pk), screenshot=settings.SCREENSHOT_MAX_BYTES + 1)
    assert "screenshot is over" in followup_text(discord)
    assert not [c for c in discord.calls if c.request.method == "GET"]
    with bypass():
        assert not Post.objects.filter(guild=guild).exists()


def test_submit_screenshot_bigger_than_announced_is_cut_off(client, guild, creator, brand, discord, settings, bypass):
    settings.SCREENSHOT_MAX_BYTES = 32
    make_profile(guild, creator, platform=Platform.TIKTOK, handle="maya")
    discord.patch(FOLLOWUP, json={"id": "1"})
    discord.get(CDN, body=PNG, content_type="image/png")  # 72 bytes although Discord said 10
    _submit(client, guild, client_option=str(brand.pk), screenshot=10)
    assert "screenshot is over" in followup_text(discord)
    with bypass():
        assert not Post.objects.filter(guild=guild).exists()


def test_submit_duplicate_is_refused_with_who_and_when(client, guild, creator, brand, discord):
    profile = make_profile(guild, creator, platform=Platform.TIKTOK, handle="maya")
    other_brand = make_client_account(guild, name="Other")
    make_post(guild, profile, client_account=other_brand, external_id="7300000000000000001")
    discord.patch(FOLLOWUP, json={"id": "1"})
    _submit(client, guild, client_option=str(brand.pk))
    assert "Already submitted by @Maya on " in followup_text(discord)


def test_autocomplete_lists_the_guilds_active_client_accounts(client, guild, other_guild):
    make_client_account(guild, name="Acme")
    make_client_account(guild, name="Acorn")
    make_client_account(guild, name="Acme Old", active=False)
    make_client_account(other_guild, name="Acme Elsewhere")
    payload = interaction("submit", {"url": "", "client": "ac"}, guild_id=guild.pk, type_=4, focused="client")
    body = post_signed(client, payload).json()
    assert body["type"] == 8
    assert [c["name"] for c in body["data"]["choices"]] == ["Acme", "Acorn"]


# --- /stats and /leaderboard ---------------------------------------------------------------------


def test_stats_shows_my_posts_and_views(client, guild, creator, time_machine):
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 19, 12, tzinfo=UTC)  # a Thursday
    time_machine.move_to(now, tick=False)
    profile = make_profile(guild, creator)
    post = make_post(guild, profile, posted_at=now - timedelta(days=20), submitted_at=now - timedelta(days=20))
    make_snapshot(post, views=1000, at=now - timedelta(days=10))
    make_snapshot(post, views=1500, at=now - timedelta(days=1))
    with guild_scope(guild.pk):
        Post.objects.filter(pk=post.pk).update(metrics_updated_at=now - timedelta(days=1))
    embed = _send(client, "stats", guild=guild)["data"]["embeds"][0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Posts"] == "1 (1 tracking)"
    assert fields["Views gained this week"] == "500"
    assert fields["Views gained in all"] == "1,500"


def test_stats_lists_my_posts_that_need_attention_with_their_reasons(client, guild, creator):
    profile = make_profile(guild, creator)
    flagged = make_post(guild, profile)
    rejected = make_post(guild, profile)
    make_post(guild, profile)  # tracking: nothing to do
    someone_elses = make_post(guild)
    with guild_scope(guild.pk):
        review_post(post=flagged, action="flag", reason="Views jumped 40x in one hour", actor="staff:alice")
        review_post(post=rejected, action="reject", reason="Not our brand's campaign", actor="staff:alice")
        review_post(post=someone_elses, action="flag", reason="not yours", actor="staff:alice")
    embed = _send(client, "stats", guild=guild)["data"]["embeds"][0]
    lines = embed["description"].splitlines()
    assert lines[0] == "**Needs your attention**"
    assert sorted(lines[1:]) == sorted(
        [
            f"TikTok {flagged.canonical_url} — flagged for review: Views jumped 40x in one hour",
            f"TikTok {rejected.canonical_url} — rejected: Not our brand's campaign",
        ]
    )
    assert "not yours" not in embed["description"]


def test_stats_shows_five_posts_needing_attention_and_counts_the_rest(client, guild, creator):
    profile = make_profile(guild, creator)
    for i in range(7):
        make_post(guild, profile, status=Post.Status.FLAGGED, status_reason=f"reason {i}")
    embed = _send(client, "stats", guild=guild)["data"]["embeds"][0]
    lines = embed["description"].splitlines()
    assert len(lines) == 1 + 5 + 1
    assert lines[-1] == "…and 2 more."


def test_stats_without_posts_needing_attention_has_no_such_section(client, guild, creator):
    make_post(guild, make_profile(guild, creator))
    embed = _send(client, "stats", guild=guild)["data"]["embeds"][0]
    assert "description" not in embed or "attention" not in embed["description"]


def test_stats_shows_my_money_earned_held_and_paid(client, guild, creator, time_machine):
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from earnings.models import Statement

    now = datetime(2026, 11, 19, 12, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    campaign = make_campaign(guild, rate_per_1000=Decimal("2.00"), currency="EUR")
    for views, status in ((4_000, Post.Status.TRACKING), (1_500, Post.Status.FLAGGED)):
        post = make_post(
            guild,
            make_profile(guild, creator),
            client_account=campaign.client_account,
            campaign=campaign,
            submitted_at=now - timedelta(days=5),
            counting_ends_at=now + timedelta(days=5),
            status=status,
        )
        make_snapshot(post, views=0, at=now - timedelta(days=5))
        make_snapshot(post, views=views, at=now - timedelta(days=1))
    with rls_bypass(reason="test"):
        Statement.objects.create(
            guild=guild, campaign=campaign, creator=creator, period_start=now - timedelta(days=7), period_end=now,
            currency="EUR", amount=Decimal("5.00"), status="paid", payment_reference="PP-9", created_by="t",
        )  # fmt: skip
    embed = _send(client, "stats", guild=guild)["data"]["embeds"][0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    # 4,000 × 2.00 / 1000 = 8.00 earned; 1,500 × 2.00 / 1000 = 3.00 held; 5.00 paid → 3.00 to be paid
    assert fields["Money (EUR)"] == "Earned 8.00 · held 3.00 · paid 5.00 · to be paid 3.00"


def test_payout_answers_privately_with_the_masked_address(client, guild, creator, settings, bypass):
    from cryptography.fernet import Fernet

    from earnings.models import PayoutMethod

    settings.PAYOUT_ENCRYPTION_KEY = Fernet.generate_key().decode()
    body = _send(client, "payout", {"method": "paypal", "address": "maya.clips@example.com"}, guild=guild)
    assert body["data"]["content"] == "Saved. You will be paid by PayPal email: ma***@example.com"
    assert body["data"]["flags"] == 64
    with bypass():
        assert PayoutMethod.objects.get(creator=creator).masked == "ma***@example.com"


def test_leaderboard_is_public_and_ranks_by_views_gained(client, guild, time_machine):
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 19, 12, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    for name, views in (("alice", 300), ("bob", 900)):
        post = make_post(
            guild,
            make_profile(guild, make_creator(guild, username=name)),
            posted_at=now - timedelta(days=1),
            submitted_at=now - timedelta(days=1),
        )
        make_snapshot(post, views=views, at=now - timedelta(hours=2))
        with guild_scope(guild.pk):
            Post.objects.filter(pk=post.pk).update(metrics_updated_at=now - timedelta(hours=2))
    body = _send(client, "leaderboard", {"period": "week"}, guild=guild)
    assert "flags" not in body["data"]
    embed = body["data"]["embeds"][0]
    assert embed["title"] == "Leaderboard — This week"
    assert embed["description"].splitlines() == [
        "**1.** bob — 900 views (1 posts)",
        "**2.** alice — 300 views (1 posts)",
    ]
    assert json.dumps(body["data"]["allowed_mentions"]) == '{"parse": []}'


def test_leaderboard_with_no_data_says_so(client, guild):
    body = _send(client, "leaderboard", guild=guild)
    assert body["data"]["embeds"][0]["description"] == "No views gained in this period yet."


def test_stats_counts_my_weekly_bonuses_until_paid(client, guild, creator):
    from earnings.services import book_bonuses, pay_bonus
    from metrics.models import BonusAward
    from tests.factories import make_bonus_rule

    rule = make_bonus_rule(guild, name="10k club", amount=25, currency="EUR")
    with rls_bypass(reason="test"):
        for week in ("2026-11-09", "2026-11-16"):
            BonusAward.objects.create(
                guild=guild, creator=creator, rule=rule, week_start=week, views_gained=12_000, amount=25, currency="EUR"
            )
    with guild_scope(guild.pk):
        first, _second = book_bonuses(guild_id=guild.pk)
        pay_bonus(guild_id=guild.pk, entry_id=first.pk, reference="PP-3", actor="staff:ana")
    fields = {f["name"]: f["value"] for f in _send(client, "stats", guild=guild)["data"]["embeds"][0]["fields"]}
    # two bonuses of 25.00 booked, one paid: 50.00 - 25.00 = 25.00 to be paid
    assert fields["Money (EUR)"] == "Earned 0.00 · held 0.00 · bonuses 50.00 · paid 25.00 · to be paid 25.00"
