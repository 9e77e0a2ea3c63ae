import traceback

import httpx2
import pytest

from integrations.errors import IntegrationError

from .helpers import API_KEY, FakeOpenAI, failing

RATE_LIMITED = {
    "message": "Rate limit reached for gpt-4o-mini",
    "type": "requests",
    "code": "rate_limit_exceeded",
}
NO_CREDIT = {
    "message": "You exceeded your current quota",
    "type": "insufficient_quota",
    "code": "insufficient_quota",
}
BAD_KEY = {
    "message": f"Incorrect API key provided: {API_KEY}.",
    "type": "invalid_request_error",
    "code": "invalid_api_key",
}
BAD_REQUEST = {"message": "Invalid schema for response_format", "type": "invalid_request_error", "code": None}
SERVER = {"message": "The server had an error", "type": "server_error", "code": None}


def check(fake: FakeOpenAI) -> None:
    fake.checker().check_language(caption="hello #ad")


def raised(fake: FakeOpenAI) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        check(fake)
    return caught.value


def test_rate_limit_is_transient_and_keeps_the_wait():
    err = raised(failing(429, RATE_LIMITED, headers={"retry-after": "7"}))

    assert (err.permanent, err.code, err.retry_after) == (False, "rate_limit_exceeded", 7.0)


def test_rate_limit_is_not_retried_behind_our_back():
    fake = failing(429, RATE_LIMITED)
    raised(fake)
    assert len(fake.requests) == 1  # the task layer owns retries; each call is budgeted


def test_account_without_credit_is_permanent():
    err = raised(failing(429, NO_CREDIT))

    assert (err.permanent, err.code) == (True, "insufficient_quota")


def test_bad_key_is_permanent():
    err = raised(failing(401, BAD_KEY))

    assert (err.permanent, err.code) == (True, "invalid_api_key")


def test_bad_request_is_permanent():
    err = raised(failing(400, BAD_REQUEST))

    assert (err.permanent, err.code) == (True, "http400")
    assert "Invalid schema" in err.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(status):
    assert raised(failing(status, SERVER)).permanent is False


def test_timeout_is_transient():
    def slow(request):
        raise httpx2.ReadTimeout("timed out", request=request)

    err = raised(FakeOpenAI(slow))

    assert (err.permanent, err.code) == (False, "timeout")


def test_connection_failure_is_transient():
    def refused(request):
        raise httpx2.ConnectError("connection refused", request=request)

    err = raised(FakeOpenAI(refused))

    assert (err.permanent, err.code) == (False, "connectionError")


def test_error_text_never_contains_the_api_key():
    err = raised(failing(401, BAD_KEY))  # this body echoes the key back

    logged = "".join(traceback.format_exception(err))
    for text in (err.message, str(err), logged):
        assert API_KEY not in text
