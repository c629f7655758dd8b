"""Reversing a referral, whether a refund or finance decided it.

Entries nothing has been asked of a provider for yet (`created`, `queued`) are cancelled
and their amounts return to the budget; entries that may be or are paid (`sent`,
`confirmed`) are clawed back with when, why and how much, and the budget stays spent.
Failed, cancelled and clawed-back entries are left as they are: a failed entry already
returned its amount. The referral moves to `reversed`, the advocate's reversal counters
go up, and the audit entry is written, all in one transaction guarded by the referral's
and every entry's version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.clock import Clock
from shared.domain.audit import AuditEntry
from shared.domain.referrals import Referral, ReferralStatus, can_move
from shared.domain.rewards import NOT_YET_SENT, PAID_OR_PAYING, Clawback, Reward, RewardStatus
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.repositories import keys
from shared.repositories.audit import AuditLog
from shared.repositories.referrals import ReferralRepository
from shared.repositories.reviews import ReviewIndex
from shared.repositories.rewards import RewardRepository
from shared.repositories.stats import ProgramCounters, paid_amount, paid_count
from shared.schemas.rewards import ReverseIn
from shared.services.ledger import by_creation
from shared.storage.table import (
    Check,
    ConditionFailed,
    Equals,
    Table,
    TransactionConflict,
    WriteOp,
)

MAX_ATTEMPTS = 8
FINANCE_REVERSAL_REASON = "reversed_by_finance"


@dataclass
class RewardReversal:
    """What reversing a referral does to its entries, before the referral is written."""

    ops: list[WriteOp] = field(default_factory=list)
    changes: list[dict[str, str]] = field(default_factory=list)
    returned: Decimal = Decimal(0)
    unpaid: dict[str, Decimal | int] = field(default_factory=dict)
    # The earliest clawed-back entry's creation; None when nothing paid was clawed back.
    paid_since: datetime | None = None

    @property
    def clawed_back(self) -> bool:
        return self.paid_since is not None

    def take(self, before: Reward, after: Reward, save: WriteOp) -> None:
        self.ops.append(save)
        self.changes.append(
            {"reward_id": before.reward_id, "from": before.status.value, "to": after.status.value}
        )


class ReferralReversal:
    """The writes that reverse one referral and its entries."""

    def __init__(self, table: Table) -> None:
        self._rewards = RewardRepository(table)
        self._referrals = ReferralRepository(table)
        self._reviews = ReviewIndex(table)
        self._audit = AuditLog(table)

    def of_rewards(
        self, referral_id: str, now: datetime, *, reason: str, refund_order_id: str | None = None
    ) -> RewardReversal:
        plan = RewardReversal()
        for reward in by_creation(self._rewards.of_referral(referral_id)):
            if reward.status in NOT_YET_SENT:
                after = reward.moved(RewardStatus.CANCELLED, now)
                plan.returned += reward.amount
            elif reward.status in PAID_OR_PAYING:
                clawback = Clawback(
                    at=now, reason=reason, amount=reward.amount, refund_order_id=refund_order_id
                )
                after = reward.moved(RewardStatus.CLAWED_BACK, now, clawback=clawback)
                plan.paid_since = min(plan.paid_since or reward.created_at, reward.created_at)
                if reward.status == RewardStatus.CONFIRMED:
                    amount_key, count_key = paid_amount(reward.kind), paid_count(reward.kind)
                    plan.unpaid[amount_key] = (
                        Decimal(plan.unpaid.get(amount_key, 0)) - reward.amount
                    )
                    plan.unpaid[count_key] = int(plan.unpaid.get(count_key, 0)) - 1
            else:
                # Left as it is, but only as read: a reissue committed meanwhile would queue
                # a payout for a reversed referral.
                plan.ops.append(self._unchanged_check(reward))
                continue
            plan.take(reward, after, self._rewards.save_op(after, reward.version))
        return plan

    @staticmethod
    def _unchanged_check(reward: Reward) -> Check:
        pk, sk = keys.reward(reward.referral_id, reward.reward_id)
        return Check(pk, sk, Equals("version", reward.version))

    def writes(
        self,
        referral: Referral,
        reversed_referral: Referral,
        plan: RewardReversal,
        *,
        actor: str,
        at: datetime,
        details: dict[str, Any],
        note: str | None = None,
    ) -> list[WriteOp]:
        # The referral first: a concurrent move of it fails the whole transaction.
        ops: list[WriteOp] = [self._referrals.save_op(reversed_referral, referral.version)]
        # A referral reversed while in review leaves finance's queue in the same transaction.
        ops += self._reviews.sync_ops(
            reversed_referral, was_in_review=referral.status == ReferralStatus.REVIEW
        )
        ops += plan.ops
        if plan.returned > 0:
            ops.append(self._rewards.budget_return_op(referral.program_id, plan.returned))
        if plan.unpaid:
            ops.append(ProgramCounters.add_op(referral.program_id, plan.unpaid))
        ops.append(
            self._rewards.reversal_flag_op(referral.advocate_id, at, clawed_back=plan.clawed_back)
        )
        risk = reversed_referral.risk
        entry = AuditEntry(
            entry_id=new_id("aud"),
            at=at,
            actor=actor,
            action="referral.reversed",
            referral_id=referral.referral_id,
            program_id=referral.program_id,
            before={"status": referral.status.value},
            after={
                "status": ReferralStatus.REVERSED.value,
                "rewards": plan.changes,
                "risk_score": str(risk.score) if risk else None,
            },
            note=note,
            details={**details, "budget_returned": f"{plan.returned:f}"},
        )
        ops.append(self._audit.entry_op(entry))
        return ops


@dataclass(frozen=True)
class ReversalOutcome:
    referral_id: str
    status: ReferralStatus
    rewards: list[Reward]


class FinanceReversalService:
    """Finance reverses a referral without a refund (a signup program has no order to refund).

    The referral's risk is left as scored: there is no refund to weigh as evidence. The
    advocate's reversal counters still count it, as a refund's reversal would.
    """

    def __init__(self, table: Table, clock: Clock) -> None:
        self._clock = clock
        self._referrals = ReferralRepository(table)
        self._rewards = RewardRepository(table)
        self._reversal = ReferralReversal(table)
        self._table = table

    def reverse(self, referral_id: str, body: ReverseIn, actor: str) -> ReversalOutcome:
        for _ in range(MAX_ATTEMPTS):
            referral = self._referrals.get(referral_id)
            if referral is None:
                raise NotFound(f"no referral {referral_id}")
            if not can_move(referral.status, ReferralStatus.REVERSED):
                raise Conflict(
                    f"referral {referral_id} is {referral.status} and cannot be reversed"
                )
            now = self._clock.now()
            plan = self._reversal.of_rewards(referral_id, now, reason=FINANCE_REVERSAL_REASON)
            clawed_back_at = now if plan.clawed_back else referral.clawed_back_at
            reversed_referral = referral.move(
                ReferralStatus.REVERSED, now, clawed_back_at=clawed_back_at
            )
            ops = self._reversal.writes(
                referral,
                reversed_referral,
                plan,
                actor=actor,
                at=now,
                details={"reason": FINANCE_REVERSAL_REASON},
                note=body.note,
            )
            try:
                self._table.write(ops)
            except (ConditionFailed, TransactionConflict):
                # The referral or one of its entries moved meanwhile: decide again.
                continue
            rewards = by_creation(self._rewards.of_referral(referral_id))
            return ReversalOutcome(referral_id, ReferralStatus.REVERSED, rewards)
        raise Conflict(  # pragma: no cover - needs sustained contention
            f"referral {referral_id} is changing too fast; retry the reversal"
        )
