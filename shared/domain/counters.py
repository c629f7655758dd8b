"""The figures kept per program for its stats, each moved by the change that makes it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum


class Counter(StrEnum):
    REFERRALS = "referrals"  # +1 per recorded referral (intake, self-referrals included)
    QUALIFIED = "qualified"  # +1 when a referral's first qualifying event is recorded
    FLAGGED = "flagged"  # +1 when a referral first enters review
    REJECTED = "rejected"  # +1 entering `rejected`, -1 leaving it (re-scoring may reopen)
    PAYOUTS = "payouts"  # +1 when a referral becomes `rewarded`
    PAYOUT_SECONDS = "payout_seconds"  # + seconds from its qualifying event to that moment
    ADVOCATES = "advocates"  # +1 per enrolled advocate
    SCORED = "scored"  # +1 when a referral first gets a risk decision
    REVERSED = "reversed"  # +1 when a scored referral is reversed (refund or finance)


def paid_amount(kind: str) -> str:
    """Amount confirmed paid for a reward kind (minus clawbacks)."""
    return f"paid_amount_{kind}"


def paid_count(kind: str) -> str:
    """Rewards of that kind confirmed paid (minus clawbacks)."""
    return f"paid_count_{kind}"


VARIANT_PREFIX = "variant:"


def of_variant(variant: str, name: str) -> str:
    """The name a figure is kept under for one incentive variant of the program."""
    return f"{VARIANT_PREFIX}{variant}:{name}"


def with_variant(deltas: Mapping[str, Decimal | int], variant: str) -> dict[str, Decimal | int]:
    """`deltas` for the program, and the same again under `variant`."""
    return {**deltas, **{of_variant(variant, name): delta for name, delta in deltas.items()}}


def variant_of(name: str) -> tuple[str, str] | None:
    """(variant, figure) of a per-variant figure's name; None for a program-wide one."""
    if not name.startswith(VARIANT_PREFIX):
        return None
    variant, _, figure = name[len(VARIANT_PREFIX) :].rpartition(":")
    return variant, figure
