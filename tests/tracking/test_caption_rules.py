import pytest

from tracking.captions import caption_rule_problems


def rules(caption: str, required_tags=(), banned_words=()) -> list[str]:
    return caption_rule_problems(caption=caption, required_tags=required_tags, banned_words=banned_words)


def test_caption_with_every_tag_and_no_banned_word_has_no_reasons():
    assert rules("Loving this @AcmeCo drop #ad #AcmeSummer", ["#ad", "@acmeco", "#acmesummer"], ["scam"]) == []


def test_each_missing_tag_is_named():
    assert rules("Great stuff #ad", ["#ad", "#AcmeSummer", "@acme"]) == [
        "missing required tag #acmesummer",
        "missing required tag @acme",
    ]


def test_tags_match_case_insensitively():
    assert rules("#AD #ACME", ["#ad", "#Acme"]) == []


def test_a_longer_hashtag_does_not_satisfy_a_shorter_one():
    assert rules("#adventure time", ["#ad"]) == ["missing required tag #ad"]


def test_a_word_without_the_hash_does_not_count_as_the_tag():
    assert rules("this is an ad for acme", ["#ad"]) == ["missing required tag #ad"]


def test_tag_given_without_prefix_is_a_hashtag():
    assert rules("summer #acme", ["acme"]) == []
    assert rules("summer @acme", ["acme"]) == ["missing required tag #acme"]


def test_mention_at_the_end_of_a_sentence_counts():
    assert rules("Thanks @acme.co.", ["@acme.co"]) == []


@pytest.mark.parametrize(
    "caption",
    [
        "this is a SCAM",
        "scam!",
        "total scam, trust me",
        "#scam",
        "\uff53\uff43\uff41\uff4d alert",  # fullwidth "scam", folded by NFKC
        "sc\u200bam",  # zero-width space inside the word
    ],
)
def test_banned_word_is_found_whatever_its_disguise(caption):
    assert rules(caption, banned_words=["scam"]) == ['contains banned word "scam"']


@pytest.mark.parametrize("caption", ["scampi for dinner", "unscammable", "a scammer"])
def test_banned_word_inside_another_word_is_not_banned(caption):
    assert rules(caption, banned_words=["scam"]) == []


def test_banned_phrase_matches_as_a_whole():
    assert rules("get rich quick with me", banned_words=["Get Rich Quick"]) == ['contains banned word "get rich quick"']


def test_blank_rule_entries_are_ignored():
    assert rules("hello", required_tags=["", "#"], banned_words=["", "  "]) == []
