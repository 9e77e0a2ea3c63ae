import pytest
from nacl.signing import SigningKey

from integrations.discord.signature import InvalidSignature, check_public_key, verify_interaction
from tests.integrations.discord.signing import PUBLIC_KEY_HEX, SIGNING_KEY, sign_for_tests

BODY = b'{"type":1,"id":"123","application_id":"456"}'
TIMESTAMP = "1700000000"


def _verify(*, signature_hex, timestamp=TIMESTAMP, body=BODY, public_key_hex=PUBLIC_KEY_HEX, **extra):
    verify_interaction(
        public_key_hex=public_key_hex, signature_hex=signature_hex, timestamp=timestamp, body=body, **extra
    )


def _reason(**kwargs) -> str:
    with pytest.raises(InvalidSignature) as caught:
        _verify(**kwargs)
    return caught.value.reason


VALID = sign_for_tests(SIGNING_KEY, TIMESTAMP, BODY)


def test_frozen_key_pair_is_stable():
    assert PUBLIC_KEY_HEX == "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"


def test_valid_signature_is_accepted():
    _verify(signature_hex=VALID)


def test_uppercase_hex_signature_is_accepted():
    _verify(signature_hex=VALID.upper())


def test_tampered_body_is_rejected():
    assert _reason(signature_hex=VALID, body=BODY.replace(b"123", b"124")) == "bad_signature"


def test_tampered_timestamp_is_rejected():
    assert _reason(signature_hex=VALID, timestamp="1700000001") == "bad_signature"


@pytest.mark.parametrize(
    ("signature_hex", "timestamp"), [(None, TIMESTAMP), (VALID, None), ("", TIMESTAMP), (VALID, "")]
)
def test_missing_headers_are_rejected(signature_hex, timestamp):
    assert _reason(signature_hex=signature_hex, timestamp=timestamp) == "missing_headers"


def test_signature_from_another_key_is_rejected():
    other = SigningKey(bytes(32))
    assert _reason(signature_hex=sign_for_tests(other, TIMESTAMP, BODY)) == "bad_signature"


def test_non_hex_signature_is_rejected():
    assert _reason(signature_hex="zz" * 64) == "not_hex"


def test_signature_of_wrong_length_is_rejected():
    assert _reason(signature_hex=VALID[:-2]) == "bad_length"


def test_rejection_message_names_the_reason():
    with pytest.raises(InvalidSignature, match="bad_signature"):
        _verify(signature_hex="00" * 64)


def test_timestamp_window_is_off_by_default():
    _verify(signature_hex=VALID, now=2_000_000_000)


def test_stale_timestamp_is_rejected_when_a_tolerance_is_given():
    assert _reason(signature_hex=VALID, tolerance_s=300, now=1700000301) == "stale"


def test_future_timestamp_is_rejected_when_a_tolerance_is_given():
    assert _reason(signature_hex=VALID, tolerance_s=300, now=1699999699) == "stale"


def test_timestamp_inside_the_tolerance_is_accepted():
    _verify(signature_hex=VALID, tolerance_s=300, now=1700000300)


def test_signed_but_non_numeric_timestamp_is_rejected_when_a_tolerance_is_given():
    assert _reason(signature_hex=sign_for_tests(SIGNING_KEY, "soon", BODY), timestamp="soon", tolerance_s=300) == (
        "bad_timestamp"
    )


@pytest.mark.parametrize("bad_key", ["not hex", "ab" * 31, ""])
def test_malformed_public_key_is_a_configuration_error_not_a_rejection(bad_key):
    with pytest.raises(ValueError, match="DISCORD_PUBLIC_KEY") as caught:
        check_public_key(bad_key)
    assert not isinstance(caught.value, InvalidSignature)
    with pytest.raises(ValueError, match="DISCORD_PUBLIC_KEY"):
        _verify(signature_hex=VALID, public_key_hex=bad_key)
