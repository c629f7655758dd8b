"""The single-table key schema. Every access pattern is listed in README "Data model"."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from shared.clock import iso


def program(program_id: str) -> tuple[str, str]:
    return (f"PROGRAM#{program_id}", "PROGRAM")


PROGRAMS_INDEX = "PROGRAMS"


def advocate(advocate_id: str) -> tuple[str, str]:
    return (f"ADVOCATE#{advocate_id}", "ADVOCATE")


def enrolment(program_id: str, customer_id: str) -> tuple[str, str]:
    return (f"ENROLMENT#{program_id}#{customer_id}", "ENROLMENT")


def code(referral_code: str) -> tuple[str, str]:
    return (f"CODE#{referral_code}", "CODE")


def referral(referral_id: str) -> tuple[str, str]:
    return (f"REFERRAL#{referral_id}", "REFERRAL")


def referee(program_id: str, customer_id: str) -> tuple[str, str]:
    return (f"REFEREE#{program_id}#{customer_id}", "REFEREE")


def event(referral_id: str, dedupe_key: str) -> tuple[str, str]:
    return (f"REFERRAL#{referral_id}", f"EVENT#{dedupe_key}")


EVENT_PREFIX = "EVENT#"


def program_referrals(program_id: str) -> str:
    return f"PROGRAM#{program_id}#REFERRALS"


def program_advocates(program_id: str) -> str:
    return f"PROGRAM#{program_id}#ADVOCATES"


def status_partition(status: str) -> str:
    return f"STATUS#{status}"


def evidence(kind: str, value: str) -> str:
    return f"EV#{kind}#{value}"


def evidence_sort(occurred_at: datetime, subject_id: str, role: str) -> str:
    return f"{iso(occurred_at)}#{subject_id}#{role}"


def customer(customer_id: str) -> str:
    """Every record naming a customer, for erasure."""
    return f"CUSTOMER#{customer_id}"


# --- finance review, labels, blocklist, program stats ---------------------------------------

# One item per open review, indexed by score: gsi1 across programs, gsi2 within one program.
OPEN_REVIEWS = "REVIEWS#OPEN"


def review(referral_id: str) -> tuple[str, str]:
    return (f"REVIEW#{referral_id}", "REVIEW")


def open_reviews_of_program(program_id: str) -> str:
    return f"REVIEWS#OPEN#{program_id}"


def _inverted_score(score: Decimal) -> str:
    # Ascending order of (100 - score) is descending risk; three decimals, zero padded.
    bounded = min(max(score, Decimal(0)), Decimal(100))
    return f"{(Decimal(100) - bounded).quantize(Decimal('0.001')):08.3f}"


def review_rank(score: Decimal, opened_at: datetime, referral_id: str) -> str:
    """Highest score first; among equal scores the longest waiting first."""
    return f"{_inverted_score(score)}#{iso(opened_at)}#{referral_id}"


def review_rank_floor(min_score: Decimal) -> str:
    """Inclusive upper sort-key bound selecting reviews scoring at least `min_score`."""
    return f"{_inverted_score(min_score)}#~"


# Reviewer decisions kept as training labels, listed in decision order.
LABELS = "LABELS"


def label(referral_id: str, label_id: str) -> tuple[str, str]:
    return (f"REFERRAL#{referral_id}", f"LABEL#{label_id}")


# Blocklist entries: keyed by an id derived from (kind, hash), so a lookup is one read.
BLOCKLIST = "BLOCKLIST"


def block_entry(entry_id: str) -> tuple[str, str]:
    return (f"BLOCK#{entry_id}", "BLOCK")


# Program counters, spread over shards so busy programs do not contend on one item.
STATS_SHARDS = 8


def program_stats(program_id: str) -> str:
    return f"PROGRAM#{program_id}#STATS"


def stats_shard(number: int) -> str:
    return f"SHARD#{number:02d}"


# --- reward ledger (rewards live in their referral's partition: strongly consistent reads) ---

REWARD_PREFIX = "REWARD#"
REFUND_PREFIX = "REFUND#"
# gsi1: every ledger entry by creation time, for finance's unfiltered list.
REWARDS_INDEX = "REWARDS"


def reward(referral_id: str, reward_id: str) -> tuple[str, str]:
    return (f"REFERRAL#{referral_id}", f"{REWARD_PREFIX}{reward_id}")


def reward_status_partition(status: str) -> str:
    """gsi2: ledger entries by status, sorted by when they last changed."""
    return f"REWARD_STATUS#{status}"


def refund(referral_id: str, order_id: str, digest: str) -> tuple[str, str]:
    return (f"REFERRAL#{referral_id}", f"{REFUND_PREFIX}{order_id}#{digest}")


def payout_reference(provider: str, idempotency_key: str) -> tuple[str, str]:
    """Which provider order paid which key, for providers that cannot be asked by key."""
    return (f"PAYOUTREF#{provider}#{idempotency_key}", "PAYOUTREF")


def payout_references(provider: str) -> str:
    """gsi1: a provider's remembered orders by creation time."""
    return f"PAYOUTREFS#{provider}"


# --- fraud scoring ----------------------------------------------------------------------------


def drift_reference(model_version: str) -> tuple[str, str]:
    """Feature histograms that drift is measured against, one item per model version."""
    return ("DRIFT#REFERENCE", f"MODEL#{model_version}")


def refund_total(referral_id: str, order_id: str) -> tuple[str, str]:
    """How much of one order is refunded so far: a conditional running total."""
    return (f"REFERRAL#{referral_id}", f"REFUNDED#{order_id}")
