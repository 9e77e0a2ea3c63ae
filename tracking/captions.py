"""A post's caption against its campaign: the rules (required tags, banned words), and recording the
verdict of a check.

Captions are checked as the platform shows them — the caption the first scrape returns, and again
whenever a scrape returns a different one (metrics.captions runs the checks; ingestion notices the
change through ``caption_hash``). A caption nobody has scraped yet (one a creator typed when
submitting) is never checked, so a submission is never flagged for a caption that was never seen.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

from django.db import transaction

from tracking.lifecycle import TransitionRefused, transition_post
from tracking.models import FraudSignal, Post

# Tokens that count as a tag: "#word" or "@handle" (handles may contain dots, e.g. Instagram).
_TAG_TOKEN = re.compile(r"[#@][\w.]+")
MAX_CAPTION_CHARS = 5000  # above every platform's own limit (YouTube: 5000, TikTok: 4000, Instagram: 2200)


def caption_hash(caption: str) -> str:
    """A short fingerprint of a scraped caption: ingestion compares it to notice a changed caption."""
    return hashlib.blake2b(caption.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _normalise(text: str) -> str:
    """NFKC, casefolded, without format characters (zero-width spaces/joiners, bidi marks)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")


def _tags(required_tags: Sequence[str]) -> list[str]:
    """Required tags, normalised and deduplicated, each with its "#" or "@" prefix."""
    tags = (_normalise(t).strip() for t in required_tags)
    return list(dict.fromkeys(t if t[0] in "#@" else f"#{t}" for t in tags if t.strip("#@")))


def caption_rule_problems(*, caption: str, required_tags: Sequence[str], banned_words: Sequence[str]) -> list[str]:
    """Return the reasons ``caption`` breaks the campaign's deterministic rules (empty list: none).

    Required tags match whole hashtags/mentions, case-insensitively ("#Brand" is satisfied by
    "#brand" but not by "#brandnew"); a tag given without "#"/"@" is taken as a hashtag. Banned words
    and phrases match on word boundaries, case-insensitively, after NFKC normalisation and removal of
    invisible format characters, so look-alike and zero-width tricks do not slip through.
    """
    text = _normalise(caption)
    present = {token.rstrip(".") for token in _TAG_TOKEN.findall(text)}
    reasons = [f"missing required tag {tag}" for tag in _tags(required_tags) if tag not in present]
    for word in dict.fromkeys(_normalise(w).strip() for w in banned_words):
        if word and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text):
            reasons.append(f'contains banned word "{word}"')
    return reasons


def record_caption_verdict(
    *, post: Post, checked_hash: str, verdict: str, reasons: Sequence[str], actor: str = "caption check"
) -> bool:
    """Store the verdict of the check of the caption whose fingerprint is ``checked_hash``. A "fail"
    flags the post for review with the reasons (one open FraudSignal of kind caption). False, and
    nothing written, when the caption changed since it was checked (its new version gets its own
    check). Runs in the post's guild scope."""
    with transaction.atomic():
        locked = Post.objects.for_guild(post.guild_id).select_for_update().filter(pk=post.pk).first()
        if locked is None or locked.caption_hash != checked_hash:
            return False
        locked.caption_verdict = verdict
        locked.caption_reasons = list(reasons)
        locked.save(update_fields=["caption_verdict", "caption_reasons"])
        if verdict == Post.CaptionVerdict.FAIL:
            _flag(locked, "Caption check failed: " + "; ".join(reasons), actor)
    return True


def _flag(post: Post, reason: str, actor: str) -> None:
    open_signal = FraudSignal.objects.for_guild(post.guild_id).filter(
        post=post, kind=FraudSignal.Kind.CAPTION, resolved_at__isnull=True
    )
    if not open_signal.exists():
        FraudSignal.objects.create(
            guild_id=post.guild_id, post=post, kind=FraudSignal.Kind.CAPTION, reason=reason[:500]
        )
    try:
        transition_post(post=post, to_status=Post.Status.FLAGGED, reason=reason, actor=actor)
    except TransitionRefused:
        pass  # a rejected post stays rejected; its signal is on record
