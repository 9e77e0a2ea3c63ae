"""Per-run webhook tokens: only tokens we signed, unchanged, under our secret, are accepted."""

from __future__ import annotations

import pytest

from integrations.apify.tokens import RUN_TOKEN_HEADER, InvalidRunToken, sign_run_token, verify_run_token

SECRET = "s3cret-for-tests"


def test_header_name():
    assert RUN_TOKEN_HEADER == "X-Tracking-Run-Token"


def test_round_trip_returns_registry_id_and_issue_time():
    token = sign_run_token(registry_id=42, issued_at=1_775_000_000, secret=SECRET)

    assert token.startswith("v1.42.1775000000.")
    assert verify_run_token(token=token, secret=SECRET) == ("42", 1_775_000_000)


def test_string_registry_ids_round_trip():
    token = sign_run_token(registry_id="a1b2-c3_d4", issued_at=5, secret=SECRET)

    assert verify_run_token(token=token, secret=SECRET) == ("a1b2-c3_d4", 5)


def test_wrong_secret_is_a_bad_signature():
    token = sign_run_token(registry_id=42, issued_at=1, secret=SECRET)

    with pytest.raises(InvalidRunToken) as exc:
        verify_run_token(token=token, secret="another-secret")
    assert exc.value.reason == "bad signature"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace("v1.42.", "v1.43."),  # someone else's registry row
        lambda t: t.replace(".100.", ".101."),  # a different issue time
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # the digest itself
    ],
)
def test_tampered_token_is_a_bad_signature(tamper):
    token = sign_run_token(registry_id=42, issued_at=100, secret=SECRET)

    with pytest.raises(InvalidRunToken) as exc:
        verify_run_token(token=tamper(token), secret=SECRET)
    assert str(exc.value) == "bad signature"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "v1.42.100",
        "v2.42.100." + "0" * 64,
        "v1.42.100." + "0" * 63,
        "v1.42.100." + "G" * 64,
        "v1..100." + "0" * 64,
        "v1.42.-5." + "0" * 64,
        "v1.4 2.100." + "0" * 64,
        "v1.42.100." + "0" * 64 + ".extra",
    ],
)
def test_malformed_token_is_rejected_as_malformed(token):
    with pytest.raises(InvalidRunToken) as exc:
        verify_run_token(token=token, secret=SECRET)
    assert exc.value.reason == "malformed"


def test_invalid_token_is_a_value_error():
    assert issubclass(InvalidRunToken, ValueError)


def test_old_token_is_expired_only_when_an_age_limit_is_given():
    token = sign_run_token(registry_id=1, issued_at=1000, secret=SECRET)

    assert verify_run_token(token=token, secret=SECRET, max_age_s=60, now=1060) == ("1", 1000)
    with pytest.raises(InvalidRunToken) as exc:
        verify_run_token(token=token, secret=SECRET, max_age_s=60, now=1061)
    assert exc.value.reason == "expired"


def test_empty_secret_refuses_to_sign_or_verify():
    with pytest.raises(ValueError, match="APIFY_WEBHOOK_SIGNING_SECRET"):
        sign_run_token(registry_id=1, issued_at=1, secret="")
    with pytest.raises(ValueError, match="APIFY_WEBHOOK_SIGNING_SECRET"):
        verify_run_token(token="v1.1.1." + "0" * 64, secret="")


@pytest.mark.parametrize("registry_id", ["a.b", "", "x" * 65, "id with space"])
def test_registry_ids_that_would_break_the_format_cannot_be_signed(registry_id):
    with pytest.raises(ValueError):
        sign_run_token(registry_id=registry_id, issued_at=1, secret=SECRET)
