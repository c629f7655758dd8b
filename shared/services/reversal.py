"""Reversing a referral, whether a refund or finance decided it.

Entries nothing has been asked of a provider for yet (`created`, `queued`) are cancelled
and their amounts return to the budget; entries that may be or are paid (`sent`,
`confirmed`) are clawed back with when, why and how much, and the budget stays spent.
Failed, cancelled and clawed-back entries are left as they are: a failed entry already
returned its amount. The referral moves to `reversed`, the advocate's reversal counters
go up, a paid points entry's points leave the customer's points ledger (as debt, where
they were redeemed already), and the audit entry is written, all in one transaction
guarded by the referral's, every entry's and every points account's version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.clock import Clock
from shared.domain.audit import AuditEntry
from shared.domain.changes import Contention
from shared.domain.programs import POINTS
from shared.domain.referrals import Referral, ReferralStatus, can_move
from shared.domain.reward_commands import Reverse
from shared.domain.rewards import NOT_YET_SENT, PAID_OR_PAYING, Clawback, Reward, RewardStatus
from shared.errors import Conflict, NotFound
from shared.services.ledger import by_creation
from shared.services.notifications import (
    NO_NOTIFICATIONS,
    MerchantNotifications,
    clawed_back_data,
    tell,
)

if TYPE_CHECKING:
    from shared.repositories.advocate_counters import AdvocateCounters
    from shared.repositories.audit import AuditLog
    from shared.repositories.budget import ProgramBudget
    from shared.repositories.open_reviews import OpenReviews
    from shared.repositories.payout_figures import PayoutFigures
    from shared.repositories.referrals import ReferralRepository
    from shared.repositories.rewards import RewardRepository
    from shared.repositories.unit_of_work import Changes, UnitOfWork
    from shared.services.points import PointsPayout

MAX_ATTEMPTS = 8
FINANCE_REVERSAL_REASON = "reversed_by_finance"


@dataclass
class RewardReversal:
    """What reversing a referral does to its entries, before the referral is written."""

    # Every entry as read, with its reversed state (None: left as it is, but only as read).
    entries: list[tuple[Reward, Reward | None]] = field(default_factory=list)
    changes: list[dict[str, str]] = field(default_factory=list)
    returned: Decimal = Decimal(0)
    # Confirmed entries clawed back: the program's paid figures give them back.
    unpaid: list[Reward] = field(default_factory=list)
    # The earliest clawed-back entry's creation; None when nothing paid was clawed back.
    paid_since: datetime | None = None

    @property
    def clawed_back(self) -> bool:
        return self.paid_since is not None

    def take(self, before: Reward, after: Reward) -> None:
        self.entries.append((before, after))
        self.changes.append(
            {"reward_id": before.reward_id, "from": before.status.value, "to": after.status.value}
        )


@dataclass(frozen=True)
class ReversalStores:
    """What reversing a referral changes besides the referral's own entries."""

    rewards: RewardRepository
    referrals: ReferralRepository
    reviews: OpenReviews
    budget: ProgramBudget
    caps: AdvocateCounters
    figures: PayoutFigures
    audit: AuditLog
    points: PointsPayout


class ReferralReversal:
    """What reversing one referral and its entries changes, staged on one transaction."""

    def __init__(
        self, stores: ReversalStores, notifications: MerchantNotifications = NO_NOTIFICATIONS
    ) -> None:
        self._notifications = notifications
        self._rewards = stores.rewards
        self._referrals = stores.referrals
        self._reviews = stores.reviews
        self._budget = stores.budget
        self._caps = stores.caps
        self._figures = stores.figures
        self._audit = stores.audit
        self._points = stores.points

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
                    plan.unpaid.append(reward)
            else:
                # Left as it is, but only as read: a reissue committed meanwhile would queue
                # a payout for a reversed referral.
                plan.entries.append((reward, None))
                continue
            plan.take(reward, after)
        return plan

    def announce(self, referral_id: str, at: datetime) -> None:
        """Tell the merchant of each entry the reversal committed at `at` clawed back."""
        for reward in self._rewards.of_referral(referral_id):
            clawback = reward.clawback
            if reward.status != RewardStatus.CLAWED_BACK or clawback is None or clawback.at != at:
                continue
            data = clawed_back_data(reward)
            tell(self._notifications, "reward.clawed_back", reward.program_id, data, at)

    def stage(
        self,
        referral: Referral,
        reversed_referral: Referral,
        plan: RewardReversal,
        *,
        actor: str,
        at: datetime,
        details: dict[str, Any],
        note: str | None = None,
        within: Changes,
    ) -> None:
        """Stage the reversal with `within`; a concurrent move of the referral or of any
        entry refuses the whole of it."""
        self._referrals.stage_save(reversed_referral, referral.version, within=within)
        # A referral reversed while in review leaves finance's queue in the same transaction.
        self._reviews.follow(
            reversed_referral,
            was_in_review=referral.status == ReferralStatus.REVIEW,
            within=within,
        )
        for before, after in plan.entries:
            if after is None:
                self._rewards.stage_unchanged(before, within=within)
            else:
                self._rewards.stage_save(after, before.version, within=within)
        if plan.returned > 0:
            self._budget.give_back(referral.program_id, plan.returned, within=within)
        self._figures.count_reversal(referral, plan.unpaid, within=within)
        # Only a confirmed points entry was credited (its payment and confirmation are one).
        credited = [r for r in plan.unpaid if r.kind == POINTS]
        if credited:
            self._points.stage_claw_back(credited, at, within=within)
        self._caps.count_reversal(
            referral.advocate_id, at, clawed_back=plan.clawed_back, within=within
        )
        risk = reversed_referral.risk
        entry = AuditEntry.record(
            at,
            actor,
            "referral.reversed",
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
        self._audit.append(entry, within=within)


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

    def __init__(
        self,
        clock: Clock,
        changes: UnitOfWork,
        *,
        referrals: ReferralRepository,
        rewards: RewardRepository,
        reversal: ReferralReversal,
    ) -> None:
        self._clock = clock
        self._changes = changes
        self._referrals = referrals
        self._rewards = rewards
        self._reversal = reversal

    def reverse(self, referral_id: str, command: Reverse, actor: str) -> ReversalOutcome:
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
            changes = self._changes.begin()
            self._reversal.stage(
                referral,
                reversed_referral,
                plan,
                actor=actor,
                at=now,
                details={"reason": FINANCE_REVERSAL_REASON},
                note=command.note,
                within=changes,
            )
            try:
                changes.commit()
            except Contention:
                # The referral or one of its entries moved meanwhile: decide again.
                continue
            if plan.clawed_back:
                self._reversal.announce(referral_id, now)
            rewards = by_creation(self._rewards.of_referral(referral_id))
            return ReversalOutcome(referral_id, ReferralStatus.REVERSED, rewards)
        raise Conflict(  # pragma: no cover - needs sustained contention
            f"referral {referral_id} is changing too fast; retry the reversal"
        )
