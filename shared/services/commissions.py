"""Recurring commissions: the advocate's share of the referee's later purchases.

A program whose advocate reward is a commission and that sets `recurring_months` pays the
advocate again on each purchase the referee makes after the first qualifying one, for that
many months (30 days each), once the referral has been released (`rewarding` or
`rewarded`). Each such order gets its own entry, `<referral_id>-advocate-order-<order_id>`,
created in the transaction that records the purchase: the event's conditional put and the
entry's conditional create make a redelivered purchase (same `order_id`) create nothing,
and the program budget is spent in the same transaction (only if that much is left), and
counted in the program's monthly caps for the month it is recorded (only within them).

The entry is `created` with `held_until` (the purchase plus the program's holding
period); the release job queues it once that has passed, and from then on it is paid,
reconciled, reissued and clawed back like any other entry. The referral's status does not
change: it stays `rewarded` (or `rewarding`) while later commissions come and go.

A refund of an order claws back that order's commission entry (the qualifying order's is
`<referral_id>-advocate`) in proportion: all refunds of the order so far over its amount,
times what the entry earned, rounded down to the minor unit (`clawback_for`). A paid entry
moves to `clawed_back` with `clawback.amount` (below its amount for a partial refund; the
money is gone, the budget is not returned); an entry not yet sent is repriced down, or
cancelled by a full refund, and what it no longer pays goes back to the budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.domain.caps import month_of
from shared.domain.commissions import clawback_for, order_slot, recurring_until
from shared.domain.events import ReferralEvent
from shared.domain.programs import MonthlyCaps, Program
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.rewards import (
    NOT_YET_SENT,
    PAID_OR_PAYING,
    Clawback,
    Reward,
    RewardStatus,
    reward_id_for,
)

if TYPE_CHECKING:
    from shared.atomic_changes import Changes
    from shared.repositories.budget import ProgramBudget
    from shared.repositories.period_counters import PeriodCounters
    from shared.repositories.rewards import RewardRepository

logger = logging.getLogger(__name__)

# A referral earns on later orders only once it has been released.
RELEASED = frozenset({ReferralStatus.REWARDING, ReferralStatus.REWARDED})


def later_commission(
    referral: Referral, program: Program, event: ReferralEvent, now: datetime
) -> Reward | None:
    """The entry a later purchase earns, or None when it earns none: priced on the
    advocate reward of the referral's incentive variant."""
    terms, _ = program.rewards_of(referral.variant)
    if terms is None or terms.commission is None or program.recurring_months is None:
        return None
    first = referral.qualified_at
    if first is None or referral.status not in RELEASED:
        return None
    if event.type != "purchase" or event.order_id is None or event.amount is None:
        return None
    if event.order_id == referral.qualifying_order_id or event.occurred_at <= first:
        return None
    if event.occurred_at > recurring_until(first, program.recurring_months):
        return None
    priced = terms.on_order(event.amount)
    if priced.amount <= 0:
        return None
    return Reward(
        reward_id=reward_id_for(referral.referral_id, order_slot(event.order_id)),
        referral_id=referral.referral_id,
        program_id=program.program_id,
        beneficiary="advocate",
        customer_id=referral.advocate_customer_id,
        advocate_id=referral.advocate_id,
        kind=priced.kind,
        amount=priced.amount,
        currency=program.currency,
        order_id=event.order_id,
        earned=priced.amount,
        held_until=event.occurred_at + timedelta(days=program.holding_period_days),
        variant=referral.variant,
        status=RewardStatus.CREATED,
        created_at=now,
        updated_at=now,
    )


class CommissionLedger:
    """Stages a later order's commission entry with the change that records the order."""

    def __init__(
        self, rewards: RewardRepository, budget: ProgramBudget, months: PeriodCounters
    ) -> None:
        self._rewards = rewards
        self._budget = budget
        self._months = months

    def of_order(self, referral: Referral, program: Program, order_id: str) -> Reward | None:
        """The commission entry an order earned, if the program pays commissions."""
        terms = program.advocate_reward
        if terms is None or terms.commission is None:
            return None
        slot = "advocate" if order_id == referral.qualifying_order_id else order_slot(order_id)
        return self._rewards.get(referral.referral_id, reward_id_for(referral.referral_id, slot))

    def stage_refund(self, before: Reward, refunded: OrderRefunded, *, within: Changes) -> None:
        """Save the refunded entry (if nobody moved it meanwhile) and give the budget back
        what it no longer pays."""
        self._rewards.stage_save(refunded.entry, before.version, within=within)
        if refunded.give_back > 0:
            self._budget.give_back(before.program_id, refunded.give_back, within=within)

    def stage(self, entry: Reward, caps: MonthlyCaps | None, *, within: Changes) -> None:
        """Create the entry (once: its id is the order's), spend its amount and count it in
        the month's caps; the commit raises `BudgetShort` if the budget cannot cover it,
        `MonthlyCapReached` if the month has no room for it."""
        self._rewards.add(entry, within=within)
        self._budget.spend(entry.program_id, entry.amount, within=within)
        if caps is not None:
            self._months.count(
                entry.program_id,
                entry.advocate_id,
                month_of(entry.created_at),
                caps=caps,
                advocate_amount=entry.amount,
                total=entry.amount,
                within=within,
            )


@dataclass(frozen=True)
class OrderRefunded:
    """What a refund of an order does to its commission entry."""

    entry: Reward
    # What goes back to the program budget (an unsent entry's lowered or cancelled amount).
    give_back: Decimal


def refunded_commission(
    entry: Reward,
    *,
    order_id: str,
    order_amount: Decimal,
    refunded: Decimal,
    at: datetime,
    reason: str,
) -> OrderRefunded | None:
    """The entry after refunds of `refunded` (every refund of the order so far) of an
    order of `order_amount`; None when there is nothing to change."""
    earned = entry.earned if entry.earned is not None else entry.amount
    taken = clawback_for(earned, order_amount, refunded, entry.currency)
    if entry.status in PAID_OR_PAYING or entry.status == RewardStatus.CLAWED_BACK:
        if entry.clawback is not None and entry.clawback.amount >= taken:
            return None
        clawback = Clawback(at=at, reason=reason, amount=taken, refund_order_id=order_id)
        return OrderRefunded(
            entry.moved(RewardStatus.CLAWED_BACK, at, clawback=clawback), Decimal(0)
        )
    if entry.status not in NOT_YET_SENT:
        return None
    if taken >= earned:
        return OrderRefunded(entry.moved(RewardStatus.CANCELLED, at), entry.amount)
    kept = earned - taken
    if kept >= entry.amount:
        return None
    return OrderRefunded(entry.moved(entry.status, at, amount=kept), entry.amount - kept)
