"""Builders for YouTube test transports, from the real samples in tests/fixtures/youtube/."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "youtube"
API_KEY = "AIzaSyTESTKEY-do-not-leak-0123456789"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def videos_list_body(ids: list[str], *, drop_stats: tuple[str, ...] = ()) -> str:
    """A videos.list answer in the sample's shape with one item per id (statistics keys in
    ``drop_stats`` removed, as YouTube does for hidden likes / disabled comments)."""
    sample = fixture("youtube_videos_list.json")
    template = sample["items"][0]
    items = []
    for video_id in ids:
        item = copy.deepcopy(template)
        item["id"] = video_id
        for key in drop_stats:
            item["statistics"].pop(key, None)
        items.append(item)
    sample["items"] = items
    sample["pageInfo"] = {"totalResults": len(items), "resultsPerPage": len(items)}
    return json.dumps(sample)


def query(uri: str) -> dict[str, str]:
    """The single-valued query parameters of a request URI."""
    return {k: v[0] for k, v in parse_qs(urlsplit(uri).query).items()}
