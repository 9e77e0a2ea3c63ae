from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from googleapiclient.http import HttpMock, HttpMockSequence

from integrations.youtube.client import YOUTUBE_BATCH_SIZE, YouTubeClient, batched

from .helpers import API_KEY, FIXTURES, query, videos_list_body

OK = {"status": "200"}


def test_sample_video_is_read_into_our_stats():
    http = HttpMock(str(FIXTURES / "youtube_videos_list.json"), OK)
    batch = YouTubeClient(api_key=API_KEY, http=http).fetch_videos(video_ids=["8HFBY9cudgM"])

    video = batch.videos["8HFBY9cudgM"]
    assert (video.views, video.likes, video.comments) == (2913925, 11811, 214)
    assert video.title.startswith("romantic songs hindi 2023")
    assert video.channel_id == "UCS2BoGTIdj_hbZfdowLcZBg"
    assert video.channel_title == "Sky React"
    assert video.published_at == datetime(2023, 8, 14, 3, 10, 32, tzinfo=UTC)
    assert batch.missing_ids == ()


def test_request_asks_for_statistics_and_snippet_of_the_given_ids():
    http = HttpMock(str(FIXTURES / "youtube_videos_list.json"), OK)
    YouTubeClient(api_key=API_KEY, http=http).fetch_videos(video_ids=["8HFBY9cudgM", "abc"])

    params = query(http.uri)
    assert urlsplit(http.uri).path == "/youtube/v3/videos"
    assert params["part"] == "statistics,snippet"
    assert params["id"] == "8HFBY9cudgM,abc"
    assert params["maxResults"] == "50"


def test_120_ids_take_three_calls_of_50_50_and_20_ids():
    ids = [f"vid{n:08d}" for n in range(120)]
    chunks = list(batched(ids, YOUTUBE_BATCH_SIZE))
    http = HttpMockSequence([(OK, videos_list_body(list(chunk))) for chunk in chunks])
    client = YouTubeClient(api_key=API_KEY, http=http)

    batches = [client.fetch_videos(video_ids=chunk) for chunk in chunks]

    asked = [query(uri)["id"].split(",") for uri, *_ in http.request_sequence]
    assert [len(a) for a in asked] == [50, 50, 20]
    assert [i for a in asked for i in a] == ids
    assert sum(len(b.videos) for b in batches) == 120


def test_ids_absent_from_the_answer_are_reported_missing():
    http = HttpMock(str(FIXTURES / "youtube_videos_list.json"), OK)
    batch = YouTubeClient(api_key=API_KEY, http=http).fetch_videos(
        video_ids=["gone0000001", "8HFBY9cudgM", "private0002"]
    )

    assert set(batch.videos) == {"8HFBY9cudgM"}
    assert batch.missing_ids == ("gone0000001", "private0002")


def test_hidden_likes_and_disabled_comments_are_none_not_zero():
    body = videos_list_body(["hiddenLikes"], drop_stats=("likeCount", "commentCount"))
    http = HttpMockSequence([(OK, body)])
    video = YouTubeClient(api_key=API_KEY, http=http).fetch_videos(video_ids=["hiddenLikes"]).videos["hiddenLikes"]

    assert video.views == 2913925
    assert video.likes is None
    assert video.comments is None


def test_duplicate_ids_are_asked_once():
    http = HttpMock(str(FIXTURES / "youtube_videos_list.json"), OK)
    YouTubeClient(api_key=API_KEY, http=http).fetch_videos(video_ids=["8HFBY9cudgM", "8HFBY9cudgM"])

    assert query(http.uri)["id"] == "8HFBY9cudgM"


def test_more_than_50_ids_is_refused_before_any_call():
    http = HttpMockSequence([])
    with pytest.raises(ValueError, match="at most 50"):
        YouTubeClient(api_key=API_KEY, http=http).fetch_videos(video_ids=[f"v{n}" for n in range(51)])
    assert http.request_sequence == []


def test_no_ids_makes_no_call():
    http = HttpMockSequence([])
    batch = YouTubeClient(api_key=API_KEY, http=http).fetch_videos(video_ids=[])
    assert batch.videos == {} and batch.missing_ids == ()
    assert http.request_sequence == []


def test_client_builds_offline_with_the_configured_timeout():
    # Static discovery: constructing the client must not need the network.
    client = YouTubeClient(api_key=API_KEY, timeout_s=2.5)
    assert client._service._http.timeout == 2.5
