"""Where a customer appears: the records erasure visits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.pii import PiiHasher, PiiKind


@dataclass(frozen=True)
class CustomerRecord:
    """One record of the customer: as an advocate (the advocate's id), as a referee (the
    referral's id), or a points account (its program's id)."""

    role: Literal["advocate", "referee", "points"]
    subject_id: str


# 16 hex digits (64 bits) of the keyed hash: unique among billions of customers, and like
# every other hash here it cannot be reversed without the key.
PSEUDONYM_DIGITS = 16
ERASED_PREFIX = "erased:"


def pseudonym(hasher: PiiHasher, customer_id: str) -> str:
    """The stable stand-in for an erased customer's id: the same keyed hash the evidence
    index files the customer under, so links to the customer survive the erasure."""
    return f"{ERASED_PREFIX}{hasher.digest(PiiKind.CUSTOMER, customer_id)[:PSEUDONYM_DIGITS]}"


@dataclass(frozen=True)
class Pseudonymisation:
    """What erasure replaces: the raw id, its pseudonym, and the full keyed hash the
    evidence index files the customer under."""

    customer_id: str
    alias: str
    customer_hash: str

    @classmethod
    def of(cls, hasher: PiiHasher, customer_id: str) -> Pseudonymisation:
        return cls(
            customer_id,
            pseudonym(hasher, customer_id),
            hasher.digest(PiiKind.CUSTOMER, customer_id),
        )


@dataclass(frozen=True)
class Rewritten:
    """What one record's rewrite did within its allowance: items written, and whether the
    record is done (False: the allowance ran out; the next erasure continues)."""

    items: int
    finished: bool
