"""Attachment downloads: one parsed URL decides the host and is what gets fetched."""

import pytest
import responses

from integrations.errors import IntegrationError
from tests.integrations.discord.helpers import make_client

CDN = "https://cdn.discordapp.com/attachments/1300000000000000001/1300000000000000002/proof.png"


@responses.activate
def test_an_attachment_on_discords_cdn_is_fetched():
    responses.add(responses.GET, CDN, body=b"\x89PNG", content_type="image/png")
    got = make_client()[0].download_attachment(url=CDN, max_bytes=1024, filename="proof.png")
    assert (got.content, got.content_type) == (b"\x89PNG", "image/png")
    assert responses.calls[0].request.url == CDN


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:1\\@cdn.discordapp.com/attachments/1/2/proof.png",
        "https://127.0.0.1:1\\\\@cdn.discordapp.com/attachments/1/2/proof.png",
        "https://evil.example@cdn.discordapp.com/attachments/1/2/proof.png",
        "https://cdn.discordapp.com:8443/attachments/1/2/proof.png",
        "https://cdn.discordapp.com\\.evil.example/attachments/1/2/proof.png",
        "https://cdn.discordapp.com\t/attachments/1/2/proof.png",
        "http://cdn.discordapp.com/attachments/1/2/proof.png",
        "https://127.0.0.1/attachments/1/2/proof.png",
    ],
)
@responses.activate
def test_a_url_that_parsers_could_read_differently_is_refused_without_a_request(url):
    with pytest.raises(IntegrationError) as exc:
        make_client()[0].download_attachment(url=url, max_bytes=1024)
    assert exc.value.code == "invalid_attachment_url" and exc.value.permanent
    assert len(responses.calls) == 0
