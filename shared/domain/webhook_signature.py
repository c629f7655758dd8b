"""The `Rewards-Signature` header of every webhook delivery, and how a receiver checks it.

    Rewards-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">

keyed with the webhook's secret. A receiver recomputes the HMAC over the raw body it
received (before any JSON parsing), compares in constant time, rejects a timestamp more
than `tolerance` seconds away from its own clock (a replayed delivery), and dedupes by the
payload's event `id` (a retried delivery of an event it already processed).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

HEADER = "Rewards-Signature"
SCHEME = "v1"
TOLERANCE_S = 300


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, at: datetime) -> str:
    """The header value for `body` sent at `at`."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},{SCHEME}={_mac(secret, timestamp, body)}"


def _parts(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            signatures.append(value)
    return timestamp, signatures


def verify_signature(
    secret: str, header: str, body: bytes, now: datetime, tolerance: int = TOLERANCE_S
) -> bool:
    """Whether `header` signs exactly `body` with `secret`, within `tolerance` seconds of
    `now`. Any `v1=` entry may match (a header may carry several during a rotation)."""
    timestamp, signatures = _parts(header)
    if timestamp is None or not signatures:
        return False
    if abs(now.timestamp() - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
