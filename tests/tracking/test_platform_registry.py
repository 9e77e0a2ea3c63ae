"""One PlatformSpec per platform, and every surface reads the registry.

Part one walks the registry: every registered platform is known to link parsing, the Apify actors
and normalizer (or YouTube's API), demo data, the simulator, the dashboard, the slash commands and
import_dataset. A platform added without its fixture below fails here, by name.

Part two registers a sixth platform (a fake Threads, Apify-collected) as ONE registry entry and shows
each of those surfaces picking it up — with no migration — and dropping it again afterwards.
"""

from __future__ import annotations

import io
import json
import random
import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template import Context, Template
from googleapiclient.http import HttpMockSequence

from core.tenancy import guild_scope, rls_bypass
from dashboard.forms import PostFilterForm
from integrations.apify.actors import actor_for, build_metrics_input, build_profile_input, default_actor_ids
from integrations.apify.normalize import normalize_item, normalize_profile
from integrations.discord.commands import COMMANDS
from integrations.youtube.client import YouTubeClient
from metrics.collection import refresh_youtube
from metrics.management.commands.import_dataset import platform_choices as import_dataset_choices
from tests.conftest import load_fixture
from tests.factories import make_client_account, make_creator, make_post, make_profile
from tests.integrations.youtube.helpers import API_KEY, fixture_bytes
from tracking.api import PostQuerySerializer
from tracking.models import Post, Profile
from tracking.platforms import registry
from tracking.platforms.items import ItemReader, MetricsItem, parse_posted_at
from tracking.platforms.links import Link, NotAPost, NotAProfile, PostRef, ProfilePage
from tracking.platforms.spec import HandleRule, MetricsActor, PlatformSpec
from tracking.post_urls import HandleError, PostUrlError, parse_post_url, parse_profile_handle
from tracking.simulation import make_posts, platform_mix
from tracking.submission import submit_post

BUILT_IN = ("tiktok", "instagram", "youtube", "x", "facebook")

# One real item per platform (tests/fixtures/<vendor>/); a new platform adds its own here.
METRICS_FIXTURES = {
    "tiktok": "apify/tiktok_item.json",
    "instagram": "apify/instagram_item.json",
    "youtube": "youtube/youtube_videos_list.json",
    "x": "apify/x_tweet_item.json",
    "facebook": "apify/facebook_post_item.json",
}
PROFILE_FIXTURES = {
    "tiktok": "apify/tiktok_item.json",  # profile runs return videos; each carries authorMeta
    "instagram": "apify/instagram_profile_item.json",
    "x": "apify/x_user_item.json",
}


def specs(collector: str | None = None, verification: str | None = None) -> list[PlatformSpec]:
    return [
        spec
        for spec in registry.all_specs()
        if collector in (None, spec.collector) and verification in (None, spec.verification)
    ]


def by_key(items: list[PlatformSpec]) -> dict[str, Any]:
    return {"argvalues": items, "ids": [spec.key for spec in items]}


def link_choices(command: str) -> list[dict[str, str]]:
    definition = next(c for c in COMMANDS if c["name"] == command)
    return next(o for o in definition["options"] if o["name"] == "platform")["choices"]


def badge(key: str) -> str:
    html = '{% load dashboard_tags %}<span class="platform {{ k|platform_badge }}">{{ k|platform_label }}</span>'
    return Template(html).render(Context({"k": key}))


def demo_rows() -> tuple[set[str], dict[str, list[Post]]]:
    call_command("load_demo_data", "--no-staff", "--force", stdout=io.StringIO())
    with rls_bypass(reason="test assertion"):
        profiles = set(Profile.objects.values_list("platform", flat=True))
        posts: dict[str, list[Post]] = {}
        for post in Post.objects.all():
            posts.setdefault(post.platform, []).append(post)
    return profiles, posts


# ================================================================= part one: every platform, every surface


def test_the_built_in_platforms_are_registered_in_display_order():
    assert registry.keys() == BUILT_IN
    assert registry.choices() == [(spec.key, spec.label) for spec in registry.all_specs()]


def test_an_unknown_platform_is_a_clear_error_not_a_fallback():
    with pytest.raises(registry.UnknownPlatform, match="Unknown platform 'threads'; the registered platforms are"):
        registry.get("threads")
    for call in (
        lambda: build_metrics_input(platform="threads", urls=["https://example.test/1"]),
        lambda: build_profile_input(platform="threads", handle="maya"),
        lambda: actor_for(platform="threads", purpose="metrics", settings_obj=SimpleNamespace()),
        lambda: normalize_item(platform="threads", item={}),
        lambda: normalize_profile(platform="threads", item={}),
        lambda: parse_profile_handle("threads", "@maya"),
    ):
        with pytest.raises(registry.UnknownPlatform):
            call()


@pytest.mark.parametrize("spec", **by_key(specs()))
def test_every_platform_parses_its_own_example_link(spec):
    parsed = parse_post_url(spec.example_url)

    assert parsed.platform == spec.key
    assert parsed.external_id
    assert parse_post_url(parsed.canonical_url).external_id == parsed.external_id


@pytest.mark.parametrize("spec", **by_key(specs()))
def test_every_platform_says_what_a_valid_handle_looks_like(spec):
    with pytest.raises(HandleError) as refused:
        parse_profile_handle(spec.key, "@" + "?" * 40)

    assert refused.value.code == "invalid_handle"
    assert spec.handle_rule.description in refused.value.message


@pytest.mark.parametrize("spec", **by_key(specs(collector="apify")))
def test_every_apify_platform_has_a_metrics_actor_and_input(spec):
    assert default_actor_ids()[spec.metrics_actor.setting] == spec.metrics_actor.default_id
    assert (
        actor_for(platform=spec.key, purpose="metrics", settings_obj=SimpleNamespace()) == spec.metrics_actor.default_id
    )
    run_input = build_metrics_input(platform=spec.key, urls=[spec.example_url])
    assert run_input and json.dumps(run_input)  # what Apify is sent must be JSON
    assert spec.example_url in json.dumps(run_input)


@pytest.mark.parametrize("spec", **by_key(specs(verification="apify")))
def test_every_apify_verified_platform_has_a_profile_actor_and_input(spec):
    assert actor_for(platform=spec.key, purpose="verification", settings_obj=SimpleNamespace()) == (
        spec.profile_actor.default_id
    )
    assert "maya" in json.dumps(build_profile_input(platform=spec.key, handle="@maya"))


def test_every_platform_has_a_real_item_fixture():
    assert set(METRICS_FIXTURES) >= set(registry.keys()), "add one real item per platform to METRICS_FIXTURES"
    assert set(PROFILE_FIXTURES) >= {s.key for s in specs(verification="apify")}, "and a profile item"


@pytest.mark.parametrize("spec", **by_key(specs(collector="apify")))
def test_every_apify_platform_normalizes_its_real_item(spec):
    item = normalize_item(platform=spec.key, item=load_fixture(METRICS_FIXTURES[spec.key]))

    assert item.ok, item.error
    assert (item.platform, bool(item.external_id)) == (spec.key, True)
    assert any(n is not None for n in (item.views, item.likes, item.comments, item.shares))  # text posts have no views
    assert parse_post_url(item.url).platform == spec.key


@pytest.mark.parametrize("spec", **by_key(specs(verification="apify")))
def test_every_apify_verified_platform_normalizes_its_real_profile(spec):
    profile = normalize_profile(platform=spec.key, item=load_fixture(PROFILE_FIXTURES[spec.key]))

    assert profile.ok, profile.error
    assert profile.platform == spec.key and (profile.platform_user_id or profile.handle)


@pytest.mark.django_db
@pytest.mark.parametrize("spec", **by_key(specs(collector="youtube_api")))
def test_every_official_api_platform_turns_its_real_answer_into_numbers(spec, guild, bypass):
    video_id = load_fixture(METRICS_FIXTURES[spec.key])["items"][0]["id"]
    post = make_post(guild, make_profile(guild, platform=spec.key), external_id=video_id)
    http = HttpMockSequence([({"status": "200"}, fixture_bytes("youtube_videos_list.json"))])

    refresh_youtube(guild_id=guild.id, post_ids=[post.pk], client=YouTubeClient(api_key=API_KEY, http=http))

    with bypass():
        post.refresh_from_db()
    assert post.views is not None and post.metrics_updated_at is not None


@pytest.mark.django_db
def test_demo_data_has_a_profile_and_parseable_posts_on_every_platform():
    profiles, posts = demo_rows()

    assert profiles == set(registry.keys())
    assert set(posts) == set(registry.keys())
    for platform, rows in posts.items():
        for post in rows:
            parsed = parse_post_url(post.canonical_url)
            assert (parsed.platform, parsed.external_id) == (platform, post.external_id)


def test_the_simulator_mixes_every_platform_by_its_share():
    assert platform_mix() == tuple((spec.key, spec.simulated_share) for spec in registry.all_specs())
    assert {post.platform for post in make_posts(n=2000, days=7, seed=5)} == set(registry.keys())


@pytest.mark.parametrize("spec", **by_key(specs()))
def test_the_dashboard_badge_shows_every_platform(spec):
    assert badge(spec.key) == f'<span class="platform {spec.badge_class}">{spec.label}</span>'


def test_the_dashboard_badge_of_a_platform_no_longer_registered_still_renders():
    assert badge("myspace") == '<span class="platform ">myspace</span>'


def test_the_slash_commands_offer_every_platform():
    expected = [{"name": spec.label, "value": spec.key} for spec in registry.all_specs()]

    assert link_choices("link") == expected
    assert link_choices("verify") == expected


def test_import_dataset_takes_every_apify_platform():
    apify = [spec.key for spec in specs(collector="apify")]

    assert import_dataset_choices() == apify
    with pytest.raises(CommandError, match=re.escape(f"use one of {', '.join(apify)}.")):
        call_command("import_dataset", "--guild", "1", "--platform", "myspace", "missing.json")


def test_model_fields_read_the_registry_and_need_no_migration_per_platform():
    for model in (Post, Profile):
        field = model._meta.get_field("platform")
        assert list(field.choices) == registry.choices()
        assert field.deconstruct()[3]["choices"] is registry.choices


# ================================================================= part two: a sixth platform

_THREADS_POST = re.compile(r"[A-Za-z0-9_-]{11}")
_THREADS_HANDLE = re.compile(r"[a-z0-9._]{1,30}")


def _threads_post(link: Link) -> PostRef:
    segments = link.segments
    if len(segments) == 1 and segments[0].startswith("@"):
        raise ProfilePage()
    if len(segments) != 3 or not segments[0].startswith("@") or segments[1] != "post":
        raise NotAPost()
    handle, code = segments[0][1:].lower(), segments[2]
    if not _THREADS_HANDLE.fullmatch(handle) or not _THREADS_POST.fullmatch(code):
        raise NotAPost()
    return PostRef(code, f"https://www.threads.net/@{handle}/post/{code}", needs_resolution=False, handle=handle)


def _threads_profile_handle(link: Link) -> str:
    if len(link.segments) != 1 or not link.segments[0].startswith("@"):
        raise NotAProfile()
    return link.segments[0][1:]


def _threads_input(urls: list[str], limit: int) -> dict[str, Any]:
    return {"postUrls": urls, "maxItems": limit}


def _threads_item(r: ItemReader) -> MetricsItem:
    source, views = r.counted("view_count")
    return r.metrics_item(
        external_id=r.text("code"),
        url=r.text("url"),
        views=views,
        views_source=source,
        likes=r.count("like_count"),
        comments=r.count("reply_count"),
        shares=r.count("repost_count"),
        caption=r.text("caption.text"),
        author_id=r.text("user.pk"),
        author_handle=r.text("user.username"),
        posted_at=parse_posted_at(r.get("taken_at")),
    )


def _threads_demo(handle: str, rng: random.Random) -> tuple[str, str]:
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789") for _ in range(11))
    return code, f"https://www.threads.net/@{handle}/post/{code}"


THREADS = PlatformSpec(
    key="threads",
    label="Threads",
    badge_class="platform-threads",
    hosts=("threads.net", "www.threads.net"),
    brand_fragments=("threads",),
    example_url="https://www.threads.net/@user/post/C1a2B3c4D5e",
    post_noun="post",
    parse_post=_threads_post,
    read_profile_handle=_threads_profile_handle,
    handle_rule=HandleRule(_THREADS_HANDLE, "up to 30 letters, digits, underscores or dots"),
    collector="apify",
    verification="staff",
    metrics_actor=MetricsActor("APIFY_THREADS_ACTOR_ID", "example/threads-scraper", _threads_input),
    normalize_metrics=_threads_item,
    demo_post=_threads_demo,
    simulated_share=0.05,
)
THREADS_URL = "https://www.threads.net/@maya/post/C1a2B3c4D5e"
THREADS_ITEM = {
    "code": "C1a2B3c4D5e",
    "url": THREADS_URL,
    "view_count": "1.2K",
    "like_count": 48,
    "reply_count": 3,
    "repost_count": 2,
    "caption": {"text": "New drop #acme"},
    "user": {"pk": "63145271989", "username": "maya"},
    "taken_at": 1764331200,
    "inputUrl": THREADS_URL,
}


@pytest.fixture
def threads():
    with registry.temporarily_registered(THREADS) as spec:
        yield spec


def test_links_to_the_new_platform_are_recognised(threads):
    parsed = parse_post_url(THREADS_URL)

    assert (parsed.platform, parsed.external_id, parsed.handle) == ("threads", "C1a2B3c4D5e", "maya")
    assert parsed.canonical_url == THREADS_URL and not parsed.needs_resolution
    assert parse_profile_handle("threads", "https://www.threads.net/@Maya") == "maya"


def test_refusals_name_the_new_platform(threads):
    with pytest.raises(PostUrlError) as profile_page:
        parse_post_url("threads.net/@maya")
    with pytest.raises(PostUrlError) as lookalike:
        parse_post_url("https://threads.net.login-check.example/@maya/post/C1a2B3c4D5e")
    with pytest.raises(PostUrlError) as elsewhere:
        parse_post_url("https://example.com/post/1")

    assert (profile_page.value.code, profile_page.value.platform) == ("profile_page", "threads")
    assert THREADS.example_url in profile_page.value.message
    assert (lookalike.value.code, lookalike.value.platform) == ("lookalike_host", "threads")
    assert "YouTube, X, Facebook or Threads" in elsewhere.value.message


def test_the_new_platform_gets_an_actor_and_its_input(threads):
    assert default_actor_ids()["APIFY_THREADS_ACTOR_ID"] == "example/threads-scraper"
    assert actor_for(platform="threads", purpose="metrics", settings_obj=SimpleNamespace()) == "example/threads-scraper"
    settings_obj = SimpleNamespace(APIFY_THREADS_ACTOR_ID="someone/threads-pro")
    assert actor_for(platform="threads", purpose="metrics", settings_obj=settings_obj) == "someone/threads-pro"
    assert build_metrics_input(platform="threads", urls=[THREADS_URL]) == {"postUrls": [THREADS_URL], "maxItems": 1}


def test_items_of_the_new_platform_are_normalized(threads):
    item = normalize_item(platform="threads", item=THREADS_ITEM)

    assert item.ok and (item.platform, item.external_id) == ("threads", "C1a2B3c4D5e")
    assert (item.views, item.rounded, item.views_source, item.likes, item.shares) == (1200, True, "view_count", 48, 2)
    assert item.posted_at == datetime(2025, 11, 28, 12, 0, tzinfo=UTC)
    gone = normalize_item(platform="threads", item={"inputUrl": THREADS_URL, "error": "Post not found"})
    assert (gone.unavailable, gone.input_url) == (True, THREADS_URL)


def test_the_dashboard_slash_commands_forms_and_api_offer_the_new_platform(threads):
    assert badge("threads") == '<span class="platform platform-threads">Threads</span>'
    assert {"name": "Threads", "value": "threads"} in link_choices("link")
    assert '"value": "threads"' in json.dumps(COMMANDS)  # what discord_register_commands sends
    assert ("threads", "Threads") in PostFilterForm().fields["platform"].choices
    assert PostQuerySerializer(data={"platform": "threads"}).is_valid()


def test_the_simulator_and_import_dataset_offer_the_new_platform(threads):
    assert ("threads", 0.05) in platform_mix()
    assert "threads" in {post.platform for post in make_posts(n=2000, days=7, seed=5)}
    assert import_dataset_choices()[-1] == "threads"


@pytest.mark.django_db
def test_a_post_on_the_new_platform_is_submitted_and_its_dataset_imported(threads, guild, bypass, settings, tmp_path):
    settings.OPENAI_API_KEY = ""
    maya = make_creator(guild, username="maya")
    make_profile(guild, maya, platform="threads", handle="maya")
    brand = make_client_account(guild, name="Acme")
    with guild_scope(guild.id):
        result = submit_post(guild_id=guild.id, creator=maya, url=THREADS_URL, client_account_id=brand.id, actor="test")
    dataset = tmp_path / "threads.json"
    dataset.write_text(json.dumps([THREADS_ITEM]))
    out = io.StringIO()
    call_command(
        "import_dataset",
        "--guild",
        str(guild.id),
        "--platform",
        "threads",
        "--captured-at",
        "2026-11-28T12:00:00Z",
        str(dataset),
        stdout=out,
    )

    assert "inserted=1" in out.getvalue()
    with bypass():
        post = Post.objects.get(pk=result.post.pk)
    assert (post.platform, post.external_id, post.views, post.likes) == ("threads", "C1a2B3c4D5e", 1200, 48)


@pytest.mark.django_db
def test_demo_data_covers_the_new_platform(threads):
    profiles, posts = demo_rows()

    assert "threads" in profiles
    assert all(parse_post_url(p.canonical_url).platform == "threads" for p in posts["threads"])


@pytest.mark.django_db
def test_the_new_platform_needs_no_migration(threads):
    assert ("threads", "Threads") in Profile._meta.get_field("platform").choices
    profile = Profile(guild_id=1, creator_id=1, platform="threads", handle="maya")
    profile.clean_fields(exclude=["guild", "creator"])  # the stored value is a valid choice
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())  # exits 1 on changes


def test_unregistering_removes_the_platform_everywhere_again():
    with registry.temporarily_registered(THREADS):
        assert "threads" in registry.keys()
    assert registry.keys() == BUILT_IN
    assert [c["value"] for c in link_choices("link")] == list(BUILT_IN)
    with pytest.raises(PostUrlError, match="which we don't track"):
        parse_post_url(THREADS_URL)


def test_a_platform_cannot_claim_another_platforms_hosts_or_key():
    thief = PlatformSpec(**{**THREADS.__dict__, "key": "threads2", "hosts": ("threads2.net", "x.com")})

    with pytest.raises(ValueError, match=r"claims x\.com, already 'x'"):
        registry.register(thief)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.get("tiktok"))
    assert registry.keys() == BUILT_IN


def test_a_spec_that_cannot_be_collected_is_refused_at_definition():
    with pytest.raises(ValueError, match="needs metrics_actor and normalize_metrics"):
        PlatformSpec(**{**THREADS.__dict__, "metrics_actor": None})
    with pytest.raises(ValueError, match="key must be"):
        PlatformSpec(**{**THREADS.__dict__, "key": "Threads.net"})
