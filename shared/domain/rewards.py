"""Reward ledger entries, their life cycle, and what a released referral is entitled to.

An entry is created when its referral is released (budget and cap already taken), queued
for its payout kind, sent once it is committed to a provider, and confirmed when the
provider says it arrived. `sent` is written *before* the provider call: from then on the
money may be gone, so a refund claws back instead of cancelling, and a redelivery looks
the order up by key before it asks again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.caps import MonthSpent, judge
from shared.domain.changes import Contention
from shared.domain.commissions import ORDER_SLOT
from shared.domain.programs import MonthlyCaps, Program, RewardKind, RewardTerms

Beneficiary = Literal["advocate", "referee"]


class RewardStatus(StrEnum):
    CREATED = "created"
    QUEUED = "queued"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CLAWED_BACK = "clawed_back"


R = RewardStatus
# Self-moves record bookkeeping (an attempt, a provider reference) without a status change.
REWARD_TRANSITIONS: dict[RewardStatus, frozenset[RewardStatus]] = {
    # A partial refund reprices an unsent commission entry (a self-move).
    R.CREATED: frozenset({R.CREATED, R.QUEUED, R.SENT, R.CANCELLED}),
    R.QUEUED: frozenset({R.QUEUED, R.SENT, R.CANCELLED}),
    R.SENT: frozenset({R.SENT, R.CONFIRMED, R.FAILED, R.CLAWED_BACK}),
    R.CONFIRMED: frozenset({R.CLAWED_BACK}),
    # Finance reissues a failed entry: a new attempt, with its own provider key.
    R.FAILED: frozenset({R.QUEUED}),
    R.CANCELLED: frozenset(),
    # A clawback of an entry whose payout never reached the provider: nothing was paid,
    # so it ends cancelled and its amount returns to the budget.
    R.CLAWED_BACK: frozenset({R.CLAWED_BACK, R.CANCELLED}),
}
# Nothing has been asked of a provider yet: a refund cancels these and returns the budget.
NOT_YET_SENT = frozenset({R.CREATED, R.QUEUED})
# The provider may have paid (or has): a refund claws these back.
PAID_OR_PAYING = frozenset({R.SENT, R.CONFIRMED})
# Entries whose amount is spent from the program budget.
HOLDS_BUDGET = frozenset({R.CREATED, R.QUEUED, R.SENT, R.CONFIRMED, R.CLAWED_BACK})


class IllegalRewardTransition(Exception):
    def __init__(self, reward_id: str, current: RewardStatus, target: RewardStatus) -> None:
        super().__init__(f"reward {reward_id} cannot move from {current} to {target}")
        self.current = current
        self.target = target


class RewardMoved(Contention):
    """The entry changed since it was read: read it again and decide again."""

    def __init__(self, reward_id: str) -> None:
        super().__init__(reward_id)
        self.reward_id = reward_id


class StaleReward(Exception):
    """The entry kept changing under every attempt to move it."""


class ReferralNotRewarding(Exception):
    """The referral an entry pays for is no longer `rewarding`."""

    def __init__(self, referral_id: str) -> None:
        super().__init__(referral_id)
        self.referral_id = referral_id


def can_move(current: RewardStatus, target: RewardStatus) -> bool:
    return target in REWARD_TRANSITIONS[current]


class Clawback(BaseModel):
    model_config = ConfigDict(defer_build=True)

    at: datetime
    reason: str
    amount: Decimal
    refund_order_id: str | None = None


class EarlierAttempt(BaseModel):
    """An attempt a reissue replaced: kept so its key can be looked up before the next one."""

    attempt: int
    provider: str | None
    idempotency_key: str | None
    provider_reference: str | None = None
    failure_reason: str | None = None
    ended_at: datetime


class Reward(BaseModel):
    model_config = ConfigDict(defer_build=True)

    reward_id: str
    # None for a campaign reward: it is filed under its campaign (`campaign_id`) instead.
    referral_id: str | None = None
    program_id: str
    beneficiary: Beneficiary
    customer_id: str
    advocate_id: str
    kind: RewardKind
    # The entry's money value; a points entry's is its points priced at the program's
    # `point_value` when it was released.
    amount: Decimal
    currency: str
    # The points a `points` entry credits to the customer's points ledger once paid.
    points: int | None = None
    # The tier's `min_successful_referrals` for a tier bonus; None for the base rewards.
    tier: int | None = None
    # The charity a `charity_donation` pays; None for every other kind.
    charity: str | None = None
    status: RewardStatus
    provider: str | None = None
    provider_reference: str | None = None
    idempotency_key: str | None = None
    # Provider calls made for the current attempt's key (retries included).
    attempts: int = 0
    # Which issue of the entry this is: 0 as released, n after the n-th reissue. It is part
    # of the provider key, so attempt n may pay where attempt n-1 was refused.
    attempt: int = 0
    # The payout address a reissue set for this attempt; None pays the recipient's own.
    recipient_email: str | None = None
    earlier_attempts: list[EarlierAttempt] = []
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    failure_reason: str | None = None
    clawback: Clawback | None = None
    # A commission on a later order: the order it pays on, and when its holding period
    # ends (the release job queues it no earlier). None for every other entry.
    order_id: str | None = None
    held_until: datetime | None = None
    # A commission entry's worth as its order priced it; a partial refund before the
    # payout lowers `amount` from it (after the payout, `clawback.amount` says what is
    # taken back). None for every entry that is not a commission.
    earned: Decimal | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    # The referral's incentive variant: the program's paid figures count it under it.
    variant: str = "default"
    # The group-goal campaign this entry pays (`<campaign_id>-<advocate_id>`); None otherwise.
    campaign_id: str | None = None

    @property
    def filed_under(self) -> str:
        """The id whose ledger partition holds the entry: its referral's, or its campaign's."""
        filed = self.referral_id or self.campaign_id
        if filed is None:
            raise ValueError(f"reward {self.reward_id} names neither a referral nor a campaign")
        return filed

    def moved(self, target: RewardStatus, at: datetime, **changes: Any) -> Reward:
        """The entry in `target`, one version on; refuses moves the table does not allow."""
        if not can_move(self.status, target):
            raise IllegalRewardTransition(self.reward_id, self.status, target)
        return self.model_copy(
            update={**changes, "status": target, "updated_at": at, "version": self.version + 1}
        )


def reward_id_for(referral_id: str, slot: str) -> str:
    """Deterministic, so a retried release can only ever meet the entry it already wrote.

    `slot` is "advocate", "referee" or "tier<N>"; referral ids carry no "-", so the
    referral is recoverable from the reward id (see `referral_of`).
    """
    return f"{referral_id}-{slot}"


def referral_of(reward_id: str) -> str:
    # A commission entry's slot names its order, whose id may carry "-".
    if f"-{ORDER_SLOT}" in reward_id:
        return reward_id.split(f"-{ORDER_SLOT}", 1)[0]
    return reward_id.rsplit("-", 1)[0]


@dataclass(frozen=True)
class RewardMessage:
    """What the fulfilment queues carry: enough to find the entry, nothing to trust."""

    reward_id: str
    referral_id: str

    def body(self) -> str:
        return json.dumps({"reward_id": self.reward_id, "referral_id": self.referral_id})

    @classmethod
    def parse(cls, body: str) -> RewardMessage:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("a reward message is a JSON object")
        reward_id, referral_id = data.get("reward_id"), data.get("referral_id")
        if not isinstance(reward_id, str) or not reward_id:
            raise ValueError("a reward message names its reward_id")
        if not isinstance(referral_id, str) or not referral_id:
            referral_id = referral_of(reward_id)
        return cls(reward_id=reward_id, referral_id=referral_id)


# --- entitlement ------------------------------------------------------------------------


@dataclass(frozen=True)
class Entitlement:
    slot: str
    beneficiary: Beneficiary
    customer_id: str
    terms: RewardTerms
    tier: int | None = None


@dataclass(frozen=True)
class ReleasePlan:
    """What releasing one referral creates, and whether it takes one of the advocate's slots.

    `ordinal` is the advocate's count of rewarded referrals including this one (None when
    the cap leaves no slot); `withheld` names advocate-side rewards the cap kept back,
    `withheld_by_monthly_cap` the rewards a monthly cap refused; `deferred_by` names the
    monthly caps the referral waits for (nothing is released while it is not empty).
    """

    entitlements: tuple[Entitlement, ...]
    ordinal: int | None
    withheld: tuple[str, ...]
    withheld_by_monthly_cap: tuple[str, ...] = ()
    deferred_by: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((e.terms.amount for e in self.entitlements), Decimal(0))

    @property
    def advocate_total(self) -> Decimal:
        """What the advocate side (advocate reward and tier bonus) pays."""
        return _sum(e for e in self.entitlements if e.beneficiary == "advocate")


def _sum(entitlements: Iterable[Entitlement]) -> Decimal:
    return sum((e.terms.amount for e in entitlements), Decimal(0))


def plan_release(
    program: Program,
    *,
    advocate_customer_id: str,
    referee_customer_id: str,
    rewarded_referrals: int,
    month_spent: MonthSpent | None = None,
    variant: str = "default",
    order_amount: Decimal | None = None,
) -> ReleasePlan:
    """The rewards one released referral earns, given the advocate's count so far and,
    for a program with monthly caps, what the release's month has spent (`month_spent`).

    The advocate's and referee's rewards are those of the referral's `variant` (the
    program's own for `default`); tiers are the program's whatever the variant.

    Every released referral within the cap takes one advocate slot (and is the advocate's
    `rewarded_referrals + 1`-th successful referral, which is what tiers count); past the
    cap the advocate's reward and any tier bonus are withheld, while the referee's reward
    is not capped by it. Monthly caps then defer or refuse (see `shared.domain.caps`). A
    commission is priced on the qualifying order's amount (`order_amount`); one that comes
    to nothing creates no entry.
    """
    plan = _uncapped_plan(
        program, advocate_customer_id, referee_customer_id, rewarded_referrals, variant
    )
    plan = _priced(plan, order_amount)
    if program.caps is None or month_spent is None:
        return plan
    return _within_month(plan, program.caps, month_spent)


def _priced(plan: ReleasePlan, order_amount: Decimal | None) -> ReleasePlan:
    """The plan with a commission priced on the order; one that comes to nothing is dropped
    (it takes the advocate's slot all the same, as the referral was rewarded)."""
    entitlements = []
    for e in plan.entitlements:
        if e.terms.commission is None:
            entitlements.append(e)
            continue
        priced = e.terms.on_order(order_amount)
        if priced.amount > 0:
            entitlements.append(replace(e, terms=priced))
    return replace(plan, entitlements=tuple(entitlements))


def _uncapped_plan(
    program: Program,
    advocate_customer_id: str,
    referee_customer_id: str,
    rewarded: int,
    variant: str,
) -> ReleasePlan:
    entitlements: list[Entitlement] = []
    withheld: list[str] = []
    cap = program.per_advocate_cap
    has_slot = cap is None or rewarded < cap
    ordinal = rewarded + 1 if has_slot else None
    advocate_reward, referee_reward = program.rewards_of(variant)
    if advocate_reward is not None:
        if has_slot:
            entitlements.append(
                Entitlement("advocate", "advocate", advocate_customer_id, advocate_reward)
            )
        else:
            withheld.append("advocate")
    tier = program.tier_bonus_for(rewarded + 1)
    if tier is not None:
        slot = f"tier{tier.min_successful_referrals}"
        if has_slot:
            entitlements.append(
                Entitlement(
                    slot,
                    "advocate",
                    advocate_customer_id,
                    tier.advocate_bonus,
                    tier=tier.min_successful_referrals,
                )
            )
        else:
            withheld.append(slot)
    if referee_reward is not None:
        entitlements.append(Entitlement("referee", "referee", referee_customer_id, referee_reward))
    return ReleasePlan(tuple(entitlements), ordinal, tuple(withheld))


def _within_month(plan: ReleasePlan, caps: MonthlyCaps, spent: MonthSpent) -> ReleasePlan:
    """The plan as the month's caps leave it: deferred whole, or with the sides that do
    not fit withheld. An advocate side withheld takes no slot (it rewarded nobody)."""
    advocate = [e for e in plan.entitlements if e.beneficiary == "advocate"]
    referee = [e for e in plan.entitlements if e.beneficiary == "referee"]
    verdict = judge(caps, spent, advocate=_sum(advocate), referee=_sum(referee))
    if not verdict.over:
        return plan
    if caps.over_cap == "defer":
        return replace(plan, deferred_by=verdict.over)
    kept = (advocate if verdict.advocate_fits else []) + (referee if verdict.referee_fits else [])
    refused = [e.slot for e in plan.entitlements if e not in kept]
    ordinal = plan.ordinal if verdict.advocate_fits else None
    return replace(
        plan,
        entitlements=tuple(kept),
        ordinal=ordinal,
        withheld_by_monthly_cap=tuple(refused),
    )


# --- refunds ----------------------------------------------------------------------------


class RefundRecord(BaseModel):
    model_config = ConfigDict(defer_build=True)

    referral_id: str
    order_id: str
    amount: Decimal
    currency: str
    occurred_at: datetime
    recorded_at: datetime
    body_hash: str
    order_amount_left: Decimal
    reversed: bool
    refund_id: str | None = None

    @staticmethod
    def digest(order_id: str, amount: Decimal, currency: str, occurred_at: str | None) -> str:
        text = json.dumps([order_id, f"{amount:f}", currency, occurred_at])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def reverses_referral(order_amount_left: Decimal, min_order_value: Decimal | None) -> bool:
    """A refund of the qualifying order reverses the referral only when what is left of the
    order no longer qualifies: below `min_order_value`, or nothing at all without one."""
    if min_order_value is None:
        return order_amount_left <= 0
    return order_amount_left < min_order_value
