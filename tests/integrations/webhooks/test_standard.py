import base64

import pytest

from integrations.webhooks.standard import InvalidWebhook, check_secret, sign, verify

# The published Standard Webhooks test vector (reference library's test_sign_function).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

SECRET = "whsec_" + base64.b64encode(b"bot-callback-secret-32-bytes!!!!").decode()
NOW = 1_700_000_000
BODY = b'{"event":"post.submitted","post_id":42}'


def _headers(**overrides):
    headers = sign(secret=SECRET, msg_id="msg_1", timestamp=NOW, body=BODY)
    headers.update(overrides)
    return headers


def _reason(*, headers, body=BODY, secret=SECRET, now=NOW, tolerance_s=300) -> str:
    with pytest.raises(InvalidWebhook) as caught:
        verify(secret=secret, headers=headers, body=body, tolerance_s=tolerance_s, now=now)
    return caught.value.reason


def test_signing_reproduces_the_specification_test_vector():
    headers = sign(secret=SPEC_SECRET, msg_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY)
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_specification_test_vector_verifies():
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    assert verify(secret=SPEC_SECRET, headers=headers, body=SPEC_BODY, tolerance_s=300, now=SPEC_TIMESTAMP) == SPEC_ID


def test_secret_without_prefix_signs_the_same():
    unprefixed = SPEC_SECRET.removeprefix("whsec_")
    headers = sign(secret=unprefixed, msg_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY)
    assert headers["webhook-signature"] == SPEC_SIGNATURE


def test_valid_delivery_returns_its_id():
    assert verify(secret=SECRET, headers=_headers(), body=BODY, tolerance_s=300, now=NOW) == "msg_1"


def test_header_names_are_case_insensitive():
    headers = {name.title(): value for name, value in _headers().items()}
    assert verify(secret=SECRET, headers=headers, body=BODY, tolerance_s=300, now=NOW) == "msg_1"


def test_tampered_body_is_rejected():
    assert _reason(headers=_headers(), body=BODY.replace(b"42", b"43")) == "bad_signature"


def test_wrong_secret_is_rejected():
    other = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes!!!!!!").decode()
    assert _reason(headers=_headers(), secret=other) == "bad_signature"


def test_changed_id_is_rejected():
    assert _reason(headers=_headers(**{"webhook-id": "msg_2"})) == "bad_signature"


def test_stale_timestamp_is_rejected():
    assert _reason(headers=_headers(), now=NOW + 301) == "stale"


def test_future_timestamp_is_rejected():
    assert _reason(headers=_headers(), now=NOW - 301) == "future"


def test_timestamp_at_the_edge_of_the_tolerance_is_accepted():
    for now in (NOW - 300, NOW + 300):
        assert verify(secret=SECRET, headers=_headers(), body=BODY, tolerance_s=300, now=now) == "msg_1"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_rejected(missing):
    headers = _headers()
    del headers[missing]
    assert _reason(headers=headers) == "missing_headers"


def test_empty_header_counts_as_missing():
    assert _reason(headers=_headers(**{"webhook-signature": "  "})) == "missing_headers"


@pytest.mark.parametrize("timestamp", ["soon", "1700000000.5", "-1700000000", "1e9", "１７００"])
def test_malformed_timestamp_is_rejected(timestamp):
    assert _reason(headers=_headers(**{"webhook-timestamp": timestamp})) == "bad_timestamp"


@pytest.mark.parametrize(
    "signature",
    [
        "garbage",
        "v1,",
        "v1,not base64!!",
        "v1;abc",
        ",,,",
        "v2," + _headers()["webhook-signature"].partition(",")[2],  # right digest, unknown version
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",  # well formed, wrong digest
    ],
)
def test_malformed_or_foreign_signature_header_is_rejected(signature):
    assert _reason(headers=_headers(**{"webhook-signature": signature})) == "bad_signature"


def test_any_matching_signature_among_several_is_accepted_for_key_rotation():
    valid = _headers()["webhook-signature"]
    header = f"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= garbage v1a,abc {valid}"
    assert verify(secret=SECRET, headers=_headers(**{"webhook-signature": header}), body=BODY, tolerance_s=300, now=NOW)


def test_non_utf8_body_is_rejected_not_crashed():
    assert _reason(headers=_headers(), body=b"\xff\xfe") == "bad_signature"


@pytest.mark.parametrize("secret", ["whsec_", "whsec_***not-base64***", ""])
def test_malformed_secret_is_a_configuration_error_not_a_rejection(secret):
    with pytest.raises(ValueError) as caught:
        check_secret(secret)
    assert not isinstance(caught.value, InvalidWebhook)
    assert secret.removeprefix("whsec_") not in str(caught.value) or not secret.removeprefix("whsec_")
    with pytest.raises(ValueError):
        verify(secret=secret, headers=_headers(), body=BODY, tolerance_s=300, now=NOW)


def test_verify_uses_the_clock_when_now_is_not_given(time_machine):
    time_machine.move_to(NOW + 10, tick=False)
    assert verify(secret=SECRET, headers=_headers(), body=BODY, tolerance_s=300) == "msg_1"
    time_machine.move_to(NOW + 3600, tick=False)
    assert _reason(headers=_headers(), now=None) == "stale"
