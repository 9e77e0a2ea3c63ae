from datetime import UTC, datetime

import pytest

from integrations.discord.messages import (
    ZERO_WIDTH_SPACE,
    Embed,
    allowed_mentions,
    embed_chars,
    embeds_payload,
    message_payload,
    safe_content,
)


def test_embed_renders_discord_json():
    embed = Embed(
        title="Daily report",
        description="Views gained today",
        url="https://example.com/r",
        color=0x5865F2,
        fields=[("Top clipper", "alice", True)],
        footer="Tracking Data",
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert embed.to_dict() == {
        "title": "Daily report",
        "description": "Views gained today",
        "url": "https://example.com/r",
        "color": 0x5865F2,
        "fields": [{"name": "Top clipper", "value": "alice", "inline": True}],
        "footer": {"text": "Tracking Data"},
        "timestamp": "2026-01-02T03:04:05+00:00",
    }


def test_empty_parts_are_left_out():
    assert Embed(description="only this").to_dict() == {"description": "only this"}


def test_naive_timestamp_is_taken_as_utc():
    assert Embed(title="t", timestamp=datetime(2026, 1, 2)).to_dict()["timestamp"] == "2026-01-02T00:00:00+00:00"


def test_each_text_is_cut_to_its_discord_limit():
    embed = Embed(
        title="t" * 300,
        description="d" * 5000,
        fields=[("n" * 300, "v" * 2000, False)],
        footer="f" * 3000,
    ).to_dict(budget=100_000)
    assert len(embed["title"]) == 256 and embed["title"].endswith("\u2026")
    assert len(embed["description"]) == 4096
    assert len(embed["fields"][0]["name"]) == 256
    assert len(embed["fields"][0]["value"]) == 1024
    assert len(embed["footer"]["text"]) == 2048


def test_only_25_fields_are_kept():
    embed = Embed(fields=[(f"f{i}", "v", False) for i in range(40)]).to_dict()
    assert [f["name"] for f in embed["fields"]] == [f"f{i}" for i in range(25)]


def test_one_embed_never_exceeds_6000_characters():
    embed = Embed(
        title="t" * 256,
        description="d" * 4096,
        fields=[("n" * 256, "v" * 1024, False)] * 25,
        footer="f" * 2048,
    ).to_dict()
    assert embed_chars(embed) <= 6000
    assert embed["title"] == "t" * 256 and embed["description"] == "d" * 4096


def test_empty_field_name_or_value_becomes_a_zero_width_space():
    assert Embed(fields=[("", "", False)]).to_dict()["fields"] == [
        {"name": ZERO_WIDTH_SPACE, "value": ZERO_WIDTH_SPACE, "inline": False}
    ]


def test_message_keeps_ten_embeds_within_6000_characters_in_total():
    embeds = [Embed(title=f"e{i}", description="x" * 1500) for i in range(12)]
    rendered = embeds_payload(embeds)
    assert len(rendered) <= 10
    assert sum(embed_chars(e) for e in rendered) <= 6000
    assert rendered[0]["title"] == "e0"


def test_no_more_than_ten_embeds_are_sent():
    assert len(embeds_payload([Embed(title=str(i)) for i in range(15)])) == 10


def test_everyone_and_here_are_neutralised():
    content = safe_content("hey @everyone and @here!")
    assert "@everyone" not in content and "@here" not in content
    assert content == f"hey @{ZERO_WIDTH_SPACE}everyone and @{ZERO_WIDTH_SPACE}here!"


def test_content_is_cut_to_2000_characters_after_neutralising():
    content = safe_content("@everyone " * 300)
    assert len(content) == 2000 and "@everyone" not in content


def test_mentions_never_parse_roles_everyone_or_here():
    assert allowed_mentions() == {"parse": []}
    assert allowed_mentions(["1", "2", "1"]) == {"parse": [], "users": ["1", "2"]}


def test_message_payload_always_carries_allowed_mentions():
    payload = message_payload(content="hi <@&123>", embeds=[])
    assert payload == {"content": "hi <@&123>", "embeds": [], "allowed_mentions": {"parse": []}}


def test_empty_message_is_refused_before_calling_discord():
    with pytest.raises(ValueError, match="content or at least one embed"):
        message_payload(content="", embeds=[])
