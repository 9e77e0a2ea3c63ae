import json
import traceback
from datetime import UTC, datetime

import httplib2
import pytest
from googleapiclient.http import HttpMockSequence

from integrations.errors import IntegrationError
from integrations.youtube.client import YouTubeClient, next_quota_reset

from .helpers import API_KEY, fixture_bytes

LEGACY_KEY_INVALID = json.dumps(
    {
        "error": {
            "code": 400,
            "message": "Bad Request",
            "errors": [{"domain": "usageLimits", "reason": "keyInvalid", "message": "Bad Request"}],
        }
    }
)
BACKEND_ERROR = json.dumps({"error": {"code": 503, "message": "Backend Error", "errors": [{"reason": "backendError"}]}})
BAD_PART = json.dumps(
    {
        "error": {
            "code": 400,
            "message": "statistix",
            "errors": [{"domain": "youtube.part", "reason": "unknownPart"}],
        }
    }
)


class RaisingHttp:
    """An httplib2.Http stand-in whose every request fails at the socket, as a real one would."""

    def __init__(self, exc: Exception):
        self.exc = exc
        self.calls = 0

    def request(self, uri, method="GET", body=None, headers=None, redirections=1, connection_type=None):
        self.calls += 1
        raise self.exc


def failing(status: int, body: bytes | str) -> HttpMockSequence:
    return HttpMockSequence([({"status": str(status)}, body)])


def fetch(http) -> None:
    YouTubeClient(api_key=API_KEY, http=http).fetch_videos(video_ids=["8HFBY9cudgM"])


def test_exhausted_quota_is_transient_until_midnight_pacific():
    with pytest.raises(IntegrationError) as caught:
        fetch(failing(403, fixture_bytes("youtube_quota_error.json")))

    err = caught.value
    assert (err.permanent, err.code) == (False, "quotaExceeded")
    now = datetime.now(UTC)
    expected = (next_quota_reset(now) - now).total_seconds()
    assert err.retry_after == pytest.approx(expected, abs=5)
    assert "exceeded your quota" in err.message  # HTML stripped from the vendor's text


def test_invalid_key_is_permanent():
    with pytest.raises(IntegrationError) as caught:
        fetch(failing(400, fixture_bytes("youtube_key_invalid_error.json")))

    assert (caught.value.permanent, caught.value.code) == (True, "keyInvalid")
    assert "API key not valid" in caught.value.message


def test_legacy_key_invalid_reason_is_permanent():
    with pytest.raises(IntegrationError) as caught:
        fetch(failing(400, LEGACY_KEY_INVALID))

    assert (caught.value.permanent, caught.value.code) == (True, "keyInvalid")


def test_server_error_is_transient():
    with pytest.raises(IntegrationError) as caught:
        fetch(failing(503, BACKEND_ERROR))

    assert (caught.value.permanent, caught.value.code) == (False, "backendError")


def test_other_client_errors_are_permanent():
    with pytest.raises(IntegrationError) as caught:
        fetch(failing(400, BAD_PART))

    assert (caught.value.permanent, caught.value.code) == (True, "unknownPart")


def test_error_without_a_json_body_is_classified_by_status():
    with pytest.raises(IntegrationError) as caught:
        fetch(failing(502, "<html>Bad Gateway</html>"))

    assert (caught.value.permanent, caught.value.code) == (False, "http502")


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (TimeoutError("timed out"), "timeout"),
        (ConnectionResetError("reset by peer"), "connectionError"),
        (
            httplib2.ServerNotFoundError("Unable to find the server at youtube.googleapis.com"),
            "connectionError",
        ),
    ],
)
def test_network_failures_are_transient(exc, code):
    http = RaisingHttp(exc)
    with pytest.raises(IntegrationError) as caught:
        fetch(http)

    assert (caught.value.permanent, caught.value.code) == (False, code)
    assert http.calls == 1  # no hidden retries: the task layer owns them, and each call costs quota


def test_garbled_success_body_is_permanent():
    with pytest.raises(IntegrationError) as caught:
        fetch(failing(200, "not json"))

    assert (caught.value.permanent, caught.value.code) == (True, "malformedResponse")


@pytest.mark.parametrize(
    "http",
    [
        pytest.param(lambda: failing(403, fixture_bytes("youtube_quota_error.json")), id="quota"),
        pytest.param(lambda: failing(400, fixture_bytes("youtube_key_invalid_error.json")), id="key"),
        pytest.param(lambda: failing(503, BACKEND_ERROR), id="5xx"),
        pytest.param(lambda: failing(404, ""), id="404-empty"),
        pytest.param(lambda: RaisingHttp(OSError(f"boom https://x/?key={API_KEY}")), id="socket"),
    ],
)
def test_no_error_text_or_traceback_contains_the_api_key(http):
    with pytest.raises(IntegrationError) as caught:
        fetch(http())

    err = caught.value
    logged = "".join(traceback.format_exception(err))  # what logger.exception would write
    for text in (err.message, str(err), repr(err), logged):
        assert API_KEY not in text
