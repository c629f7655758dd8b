"""The Rewards-Signature header: what a receiver accepts and what it must reject."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.webhook_signature import sign, verify_signature
from tests.support import T0

SECRET = "whsec_0123456789abcdef0123456789abcdef"
BODY = b'{"data":{"referral_id":"ref_1"},"id":"evt_1","type":"referral.scored"}'


def test_a_signed_body_verifies_with_the_same_secret() -> None:
    header = sign(SECRET, BODY, T0)

    assert verify_signature(SECRET, header, BODY, T0)


def test_the_header_names_the_time_and_the_hmac_of_time_dot_body() -> None:
    import hashlib
    import hmac

    header = sign(SECRET, BODY, T0)

    timestamp = int(T0.timestamp())
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + BODY, hashlib.sha256)
    assert header == f"t={timestamp},v1={expected.hexdigest()}"


def test_a_tampered_body_fails_verification() -> None:
    header = sign(SECRET, BODY, T0)
    tampered = BODY.replace(b"ref_1", b"ref_2")

    assert not verify_signature(SECRET, header, tampered, T0)


def test_another_secret_fails_verification() -> None:
    header = sign(SECRET, BODY, T0)

    assert not verify_signature(SECRET + "0", header, BODY, T0)


def test_a_timestamp_older_than_five_minutes_is_rejected() -> None:
    header = sign(SECRET, BODY, T0)

    assert verify_signature(SECRET, header, BODY, T0 + timedelta(seconds=300))
    assert not verify_signature(SECRET, header, BODY, T0 + timedelta(seconds=301))


def test_a_timestamp_from_the_future_beyond_the_tolerance_is_rejected() -> None:
    header = sign(SECRET, BODY, T0 + timedelta(minutes=10))

    assert not verify_signature(SECRET, header, BODY, T0)


def test_a_changed_timestamp_fails_even_within_the_tolerance() -> None:
    header = sign(SECRET, BODY, T0)
    moved = header.replace(f"t={int(T0.timestamp())}", f"t={int(T0.timestamp()) + 1}")

    assert not verify_signature(SECRET, moved, BODY, T0)


def test_malformed_headers_are_rejected() -> None:
    for header in ("", "t=abc,v1=00", f"t={int(T0.timestamp())}", "v1=00", "garbage"):
        assert not verify_signature(SECRET, header, BODY, T0), header


@given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40))
def test_any_body_signed_verifies_and_any_other_body_does_not(body: bytes, secret: str) -> None:
    header = sign(secret, body, T0)

    assert verify_signature(secret, header, body, T0)
    assert not verify_signature(secret, header, body + b"x", T0)
