"""The single-table key schema. Every access pattern is listed in README "Data model"."""

from __future__ import annotations

import hashlib
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


# Partitions written by a share of every referral are split into shards, so that 1,000
# referrals a second stay under DynamoDB's 1,000 WCU/s a key (README "Capacity"). A
# record's shard is a hash of its own id; readers merge the shards in sort-key order.
REFERRAL_SHARDS = 16
AUDIT_SHARDS = 16


def shard_of(identifier: str, shards: int) -> int:
    digest = hashlib.sha256(identifier.encode()).digest()
    return int.from_bytes(digest[:4], "big") % shards


def program_referrals(program_id: str, shard: int) -> str:
    """gsi1: one shard of a program's referrals, by occurrence time."""
    return f"PROGRAM#{program_id}#REFERRALS#{shard:02d}"


def program_referral_shards(program_id: str) -> list[str]:
    return [program_referrals(program_id, n) for n in range(REFERRAL_SHARDS)]


def program_audit(program_id: str, shard: int) -> str:
    """gsi1: one shard of a program's audit trail, by time."""
    return f"PROGRAM#{program_id}#AUDIT#{shard:02d}"


def program_audit_shards(program_id: str) -> list[str]:
    return [program_audit(program_id, n) for n in range(AUDIT_SHARDS)]


def program_advocates(program_id: str) -> str:
    return f"PROGRAM#{program_id}#ADVOCATES"


def status_partition(status: str, program_id: str, shard: int) -> str:
    """gsi2: one shard of a program's referrals in one status, by due time (for `holding`,
    the qualifying time: the release job reads each program up to now minus its holding
    period, so a change of the period needs no re-keying)."""
    return f"STATUS#{status}#{program_id}#{shard:02d}"


def status_shards(status: str, program_id: str) -> list[str]:
    return [status_partition(status, program_id, n) for n in range(REFERRAL_SHARDS)]


def evidence(kind: str, value: str) -> str:
    return f"EV#{kind}#{value}"


def evidence_sort(occurred_at: datetime, subject_id: str, role: str) -> str:
    return f"{iso(occurred_at)}#{subject_id}#{role}"


def customer(customer_id: str) -> str:
    """Every record naming a customer, for erasure."""
    return f"CUSTOMER#{customer_id}"


# --- points ledger ----------------------------------------------------------------------------

# One partition per customer and program: the account item, its history lines (by time) and
# the records of its redemptions (by the client's reference).
POINTS_ACCOUNT = "ACCOUNT"
POINTS_HISTORY_PREFIX = "HISTORY#"
REDEMPTION_PREFIX = "REDEMPTION#"


def points(program_id: str, customer_id: str) -> str:
    return f"POINTS#{program_id}#{customer_id}"


def points_account(program_id: str, customer_id: str) -> tuple[str, str]:
    return (points(program_id, customer_id), POINTS_ACCOUNT)


def points_history(
    program_id: str, customer_id: str, version: int, line: int, entry_id: str
) -> tuple[str, str]:
    """A history line, in posting order: the account version that wrote it, then its place
    in that posting (the entry id keeps lines of two merged accounts apart)."""
    sk = f"{POINTS_HISTORY_PREFIX}{version:012d}#{line:02d}#{entry_id}"
    return (points(program_id, customer_id), sk)


def redemption(program_id: str, customer_id: str, reference: str) -> tuple[str, str]:
    return (points(program_id, customer_id), f"{REDEMPTION_PREFIX}{reference}")


def customer_points(program_id: str) -> str:
    """gsi2 sort key of a points account under its customer (`customer`), for erasure."""
    return f"POINTS#{program_id}"


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


def program_stats(program_id: str, number: int) -> tuple[str, str]:
    """One counter shard: a partition key of its own (shards under one key share its
    1,000 WCU/s, which intake alone reaches at ~500 referrals a second)."""
    return (f"PROGRAM#{program_id}#STATS#{number:02d}", "STATS")


def month_spent(program_id: str, month: str, advocate_id: str | None = None) -> tuple[str, str]:
    """What a program released in one calendar month (`YYYY-MM`, UTC): the program's whole
    month, or one advocate's share of it, one counter each under the month's partition."""
    sk = "PROGRAM" if advocate_id is None else f"ADVOCATE#{advocate_id}"
    return (f"PROGRAM#{program_id}#MONTH#{month}", sk)


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


# --- re-score marks (shared/repositories/footprints.py) --------------------------------------

# Program terms are read by every referral of the program: its watches are sharded by
# referral, so 1,000 scorings a second do not all write one partition key.
WATCH_SHARDS = 16
# Marks: at 1,000 referrals/s the heat replay put 1,027 WCU/s on one of 16 mark shards;
# 64 keep each near 260 (a run reads every shard once).
RESCORE_SHARDS = 64


def _watch_shards(watched_pk: str) -> int:
    return WATCH_SHARDS if watched_pk.startswith("PROGRAM#") else 1


def watch(watched_pk: str, referral_id: str, read: str) -> tuple[str, str]:
    """One read of a referral's features: a write under `watched_pk` that `read` covers
    marks the referral for re-scoring."""
    shards = _watch_shards(watched_pk)
    if shards == 1:
        return (f"WATCH#{watched_pk}", f"{referral_id}#{read}")
    return (f"WATCH#{watched_pk}#{shard_of(referral_id, shards):02d}", f"{referral_id}#{read}")


def watch_partitions(watched_pk: str) -> list[str]:
    shards = _watch_shards(watched_pk)
    if shards == 1:
        return [f"WATCH#{watched_pk}"]
    return [f"WATCH#{watched_pk}#{n:02d}" for n in range(shards)]


def footprint(referral_id: str) -> tuple[str, str]:
    """Which watches a referral has in place (so a re-score writes only new ones)."""
    return (f"FOOTPRINT#{referral_id}", "FOOTPRINT")


def rescore_mark(referral_id: str) -> tuple[str, str]:
    """The referral's inputs changed since its last score: the next re-score looks at it."""
    return (f"RESCORE#{shard_of(referral_id, RESCORE_SHARDS):02d}", referral_id)


def rescore_mark_shards() -> list[str]:
    return [f"RESCORE#{n:02d}" for n in range(RESCORE_SHARDS)]


def hot_partition_mark(watched_pk: str) -> tuple[str, str]:
    """A partition with too many watchers to mark one by one: the job takes them all."""
    return (f"RESCORE_HOT#{shard_of(watched_pk, RESCORE_SHARDS):02d}", watched_pk)


def hot_partition_mark_shards() -> list[str]:
    return [f"RESCORE_HOT#{n:02d}" for n in range(RESCORE_SHARDS)]


# --- merchant webhooks ---------------------------------------------------------------------

# Every webhook in one partition: a merchant has a handful, and fan-out reads them all
# with one strongly consistent query.
WEBHOOKS = "WEBHOOKS"


def webhook(webhook_id: str) -> tuple[str, str]:
    return (WEBHOOKS, f"WEBHOOK#{webhook_id}")


def webhook_delivery(webhook_id: str, event_created_at: datetime, event_id: str) -> tuple[str, str]:
    """One event's delivery to one webhook; the webhook's partition lists them by time."""
    return (webhook_deliveries(webhook_id), f"{iso(event_created_at)}#{event_id}")


def webhook_deliveries(webhook_id: str) -> str:
    return f"WEBHOOK#{webhook_id}#DELIVERIES"


WEBHOOK_EVENT_PREFIX = "WEBHOOK_EVENT#"


def webhook_event(
    event_id: str, referral_id: str | None, program_id: str | None
) -> tuple[str, str]:
    """A published event, kept while its deliveries need it: in its referral's partition
    (so a customer's erasure rewrites it with the referral's other items), else in its
    program's webhook-event partition (which an advocate's erasure also reaches)."""
    if referral_id:
        return (referral(referral_id)[0], f"{WEBHOOK_EVENT_PREFIX}{event_id}")
    return (program_webhook_events(program_id), f"{WEBHOOK_EVENT_PREFIX}{event_id}")


def program_webhook_events(program_id: str | None) -> str:
    return f"WEBHOOK_EVENTS#{program_id or '-'}"
