"""Recurring commissions: the advocate's share of the referee's later purchases.

A program whose advocate reward is a commission and that sets `recurring_months` pays the
advocate again on each purchase the referee makes after the first qualifying one, for that
many months (30 days each), once the referral has been released (`rewarding` or
`rewarded`). Each such order gets its own entry, `<referral_id>-advocate-order-<order_id>`,
created in the transaction that records the purchase: the event's conditional put and the
entry's conditional create make a redelivered purchase (same `order_id`) create nothing,
and the program budget is spent in the same transaction (only if that much is left).

The entry is `created` with `held_until` (the purchase plus the program's holding
period); the release job queues it once that has passed, and from then on it is paid,
reconciled, reissued and clawed back like any other entry. The referral's status does not
change: it stays `rewarded` (or `rewarding`) while later commissions come and go.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.domain.commissions import order_slot, recurring_until
from shared.domain.events import ReferralEvent
from shared.domain.programs import Program
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.rewards import Reward, RewardStatus, reward_id_for

if TYPE_CHECKING:
    from shared.repositories.budget import ProgramBudget
    from shared.repositories.rewards import RewardRepository
    from shared.repositories.unit_of_work import Changes

logger = logging.getLogger(__name__)

# A referral earns on later orders only once it has been released.
RELEASED = frozenset({ReferralStatus.REWARDING, ReferralStatus.REWARDED})


def later_commission(
    referral: Referral, program: Program, event: ReferralEvent, now: datetime
) -> Reward | None:
    """The entry a later purchase earns, or None when it earns none."""
    terms = program.advocate_reward
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
        held_until=event.occurred_at + timedelta(days=program.holding_period_days),
        status=RewardStatus.CREATED,
        created_at=now,
        updated_at=now,
    )


class CommissionLedger:
    """Stages a later order's commission entry with the change that records the order."""

    def __init__(self, rewards: RewardRepository, budget: ProgramBudget) -> None:
        self._rewards = rewards
        self._budget = budget

    def stage(self, entry: Reward, *, within: Changes) -> None:
        """Create the entry (once: its id is the order's) and spend its amount; the commit
        raises `BudgetShort` if the budget cannot cover it."""
        self._rewards.add(entry, within=within)
        self._budget.spend(entry.program_id, entry.amount, within=within)
