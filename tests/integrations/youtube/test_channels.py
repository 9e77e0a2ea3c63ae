import json

import pytest
from googleapiclient.http import HttpMockSequence

from integrations.errors import IntegrationError
from integrations.youtube.client import ChannelInfo, YouTubeClient

from .helpers import API_KEY, fixture, query

OK = {"status": "200"}
EMPTY = json.dumps({"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 0, "resultsPerPage": 5}})


def client_answering(body: str) -> tuple[YouTubeClient, HttpMockSequence]:
    http = HttpMockSequence([(OK, body)])
    return YouTubeClient(api_key=API_KEY, http=http), http


def test_channel_is_found_by_handle():
    client, http = client_answering(json.dumps(fixture("channels_list.json")))

    info = client.fetch_channel_description(handle="@skyreact")

    assert info == ChannelInfo(
        channel_id="UCS2BoGTIdj_hbZfdowLcZBg",
        title="Sky React",
        description="Music mashups every week.\nverify: TD-7Q4K2M",
        handle="@skyreact",
    )
    params = query(http.request_sequence[0][0])
    assert (params["part"], params["forHandle"]) == ("snippet", "@skyreact")
    assert "id" not in params


def test_channel_is_found_by_id():
    client, http = client_answering(json.dumps(fixture("channels_list.json")))

    info = client.fetch_channel_description(channel_id="UCS2BoGTIdj_hbZfdowLcZBg")

    assert "verify: TD-7Q4K2M" in info.description
    assert query(http.request_sequence[0][0])["id"] == "UCS2BoGTIdj_hbZfdowLcZBg"


def test_unknown_channel_is_a_permanent_not_found():
    client, _ = client_answering(EMPTY)

    with pytest.raises(IntegrationError) as caught:
        client.fetch_channel_description(handle="@nobody-here")

    assert (caught.value.permanent, caught.value.code) == (True, "notFound")
    assert "@nobody-here" in caught.value.message


@pytest.mark.parametrize("kwargs", [{}, {"channel_id": "UC1", "handle": "@a"}])
def test_exactly_one_of_id_or_handle_is_required(kwargs):
    client, http = client_answering(EMPTY)
    with pytest.raises(ValueError):
        client.fetch_channel_description(**kwargs)
    assert http.request_sequence == []
