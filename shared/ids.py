"""Identifiers: time-ordered ids and short, unguessable referral codes."""

from __future__ import annotations

import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# No 0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V: codes are read aloud and typed from screenshots.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
CODE_LENGTH = 8


def new_id(prefix: str) -> str:
    """`prefix_` + 26 Crockford characters: 48 bits of milliseconds, 80 random bits."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars)).lower()}"


def new_referral_code() -> str:
    """23**8 ≈ 7.8e10 codes; uniqueness is still enforced by a conditional write."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return code.strip().upper()
