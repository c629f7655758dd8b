"""Refunds: decided by the ledger's state, never by comparing timestamps.

A refund of the qualifying order that leaves less of it than the program's
`min_order_value` (or nothing, without one) reverses the referral. In the same
transaction as the refund record and the move to `reversed`:

- entries not yet sent (`created`, `queued`) are cancelled and their amount goes back to
  the program budget; fulfilment's conditional `queued -> sent` then refuses to pay them;
- entries `sent` or `confirmed` are clawed back (`clawed_back` with when, why, how much);
  the budget is not returned, the money is gone;
- the advocate's `reversed_referrals` (and, for a clawback, `clawed_back_referrals`)
  counters go up, for the risk features;
- after a clawback, the referral's risk takes the refund in as evidence
  (`REFUND_AFTER_REWARD`), weighted by the advocate's other clawbacks, so its score
  says what is known now; its decision stays the one the rewards were paid on. Once
  the transaction is in, the advocate's earlier clawed-back referrals are reweighed the
  same way (their first refund looked like a return; a pattern says otherwise).

The advocate's cap slot is not given back: a reversed referral still counts, so refund
abuse cannot farm a second tier bonus. Other refunds are recorded as evidence only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.clock import Clock, iso
from shared.domain.changes import Contention, ReferralMoved
from shared.domain.events import ReferralEvent
from shared.domain.evidence import EvidenceKind
from shared.domain.programs import Program
from shared.domain.referrals import Referral, ReferralStatus, can_move
from shared.domain.reward_commands import RecordRefund
from shared.domain.rewards import (
    RefundRecord,
    Reward,
    reverses_referral,
)
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.scoring.decision import after_clawback, reweighed_clawback
from shared.services.commissions import refunded_commission
from shared.services.ledger import by_creation
from shared.services.timing import occurred_at

if TYPE_CHECKING:
    from shared.repositories.advocate_counters import AdvocateCounters
    from shared.repositories.evidence import EvidenceIndex
    from shared.repositories.programs import ProgramRepository
    from shared.repositories.referrals import ReferralRepository
    from shared.repositories.rewards import RewardRepository
    from shared.repositories.unit_of_work import Changes, UnitOfWork
    from shared.services.commissions import CommissionLedger
    from shared.services.reversal import ReferralReversal

MAX_ATTEMPTS = 8
CLAWBACK_REASON = "refund"


def _identity(refund: RecordRefund, at: datetime) -> str:
    """What makes two reports one refund: its `refund_id`, or else its body and when it
    happened (now, when not given: two identical reports a moment apart are two refunds)."""
    if refund.refund_id is not None:
        # ":" never appears in a body digest (hex), so an id never names a body's record.
        return f"id:{refund.refund_id}"
    return RefundRecord.digest(refund.order_id, refund.amount, refund.currency, iso(at))


@dataclass(frozen=True)
class RefundOutcome:
    record: RefundRecord
    status: ReferralStatus
    rewards: list[Reward]
    replayed: bool


@dataclass(frozen=True)
class _RefundFacts:
    """When the refund happened, what identifies it, and the amount of its order."""

    at: datetime
    identity: str
    order_amount: Decimal


@dataclass(frozen=True)
class RefundStores:
    """What recording a refund reads and changes."""

    programs: ProgramRepository
    referrals: ReferralRepository
    rewards: RewardRepository
    caps: AdvocateCounters
    evidence: EvidenceIndex
    commissions: CommissionLedger | None = None


class RefundService:
    def __init__(
        self,
        clock: Clock,
        changes: UnitOfWork,
        stores: RefundStores,
        reversal: ReferralReversal,
    ) -> None:
        self._clock = clock
        self._changes = changes
        self._programs = stores.programs
        self._referrals = stores.referrals
        self._rewards = stores.rewards
        self._caps = stores.caps
        self._evidence = stores.evidence
        self._commissions = stores.commissions
        self._reversal = reversal

    def record(
        self, referral_id: str, refund: RecordRefund, actor: str = "client"
    ) -> RefundOutcome:
        referral, program, event, order_amount = self._refunded_purchase(referral_id, refund)
        at = occurred_at(refund.occurred_at, self._clock)
        if at < event.occurred_at:
            raise InvalidRequest.field(
                "occurred_at", "is before the purchase it refunds", "before_event"
            )
        identity = _identity(refund, at)
        for _ in range(MAX_ATTEMPTS):
            earlier = self._rewards.get_refund(referral_id, refund.order_id, identity)
            if earlier is not None:
                return self._replay(earlier, refund)
            try:
                record, clawed_back = self._record_once(
                    referral, program, refund, _RefundFacts(at, identity, order_amount), actor
                )
            except Contention:
                # A replay of this refund, another refund of the order, or the referral or
                # an entry moved: decide again.
                continue
            if clawed_back is not None:
                self._reversal.announce(referral_id, record.recorded_at)
                self._reweigh_clawbacks(clawed_back, record.recorded_at)
            return self._outcome(record, replayed=False)
        raise Conflict(  # pragma: no cover - needs sustained contention
            f"referral {referral_id} is changing too fast; retry the refund"
        )

    def _record_once(
        self,
        referral: Referral,
        program: Program,
        refund: RecordRefund,
        facts: _RefundFacts,
        actor: str,
    ) -> tuple[RefundRecord, Referral | None]:
        """Record the refund (and reverse the referral, if it does) in one transaction;
        the referral as read if that clawed paid rewards back."""
        referral_id = referral.referral_id
        order_amount = facts.order_amount
        refunded, total_kept = self._rewards.refunded_of_order(referral_id, refund.order_id)
        left = order_amount - refunded - refund.amount
        if left < 0:
            raise InvalidRequest.field(
                "amount",
                f"is more than what is left of order {refund.order_id} "
                f"({order_amount - refunded:f} {program.currency})",
                "exceeds_order",
            )
        referral = self._referrals.get(referral_id) or referral
        reverses = (
            referral.qualifying_order_id == refund.order_id
            and reverses_referral(left, program.min_order_value)
            and can_move(referral.status, ReferralStatus.REVERSED)
        )
        record = RefundRecord(
            referral_id=referral_id,
            order_id=refund.order_id,
            amount=refund.amount,
            currency=refund.currency,
            occurred_at=facts.at,
            recorded_at=self._clock.now(),
            body_hash=facts.identity,
            order_amount_left=left,
            reversed=reverses,
            refund_id=refund.refund_id,
        )
        # The record and the order's running total in one transaction: a refund that
        # read the total before another was written is refused and decides again.
        changes = self._changes.begin()
        self._rewards.record_refund(record, within=changes)
        self._rewards.add_refunded(
            referral_id,
            refund.order_id,
            order_amount=order_amount,
            seen=refunded,
            exists=total_kept,
            amount=refund.amount,
            within=changes,
        )
        clawed_back = reverses and self._stage_reversal(referral, record, actor, within=changes)
        if not reverses:
            self._stage_commission_refund(referral, program, record, order_amount, changes)
        changes.commit()
        return record, referral if clawed_back else None

    def _stage_commission_refund(
        self,
        referral: Referral,
        program: Program,
        record: RefundRecord,
        order_amount: Decimal,
        changes: Changes,
    ) -> None:
        """Claw back the order's commission in proportion to what of the order is refunded."""
        if self._commissions is None:
            return
        entry = self._commissions.of_order(referral, program, record.order_id)
        if entry is None:
            return
        refunded = refunded_commission(
            entry,
            order_id=record.order_id,
            order_amount=order_amount,
            refunded=order_amount - record.order_amount_left,
            at=record.recorded_at,
            reason=f"{CLAWBACK_REASON} of order {record.order_id}",
        )
        if refunded is not None:
            self._commissions.stage_refund(entry, refunded, within=changes)

    def _refunded_purchase(
        self, referral_id: str, refund: RecordRefund
    ) -> tuple[Referral, Program, ReferralEvent, Decimal]:
        """The referral, its program, the purchase the refund names and its amount."""
        referral = self._referrals.get(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        program = self._programs.get(referral.program_id)
        if program is None:  # pragma: no cover - referrals always name a stored program
            raise NotFound(f"no program {referral.program_id}")
        if refund.currency != program.currency:
            raise InvalidRequest.field(
                "currency",
                f"must be {program.currency}, the program's currency",
                "currency_mismatch",
            )
        event = self._referrals.get_event(referral_id, refund.order_id)
        if event is None or event.type != "purchase" or event.amount is None:
            raise InvalidRequest.field(
                "order_id",
                "no purchase with this order_id was reported on this referral",
                "unknown_order",
            )
        return referral, program, event, event.amount

    def _replay(self, earlier: RefundRecord, refund: RecordRefund) -> RefundOutcome:
        same = (earlier.amount, earlier.currency) == (refund.amount, refund.currency) and (
            refund.occurred_at is None or refund.occurred_at == earlier.occurred_at
        )
        if not same:
            raise Conflict(
                f"refund_id {refund.refund_id} already names a refund of {earlier.amount:f} "
                f"{earlier.currency} of order {earlier.order_id}"
            )
        return self._outcome(earlier, replayed=True)

    def _stage_reversal(
        self, referral: Referral, record: RefundRecord, actor: str, *, within: Changes
    ) -> bool:
        """Stage what reverses the referral; whether it claws paid rewards back."""
        now = record.recorded_at
        plan = self._reversal.of_rewards(
            referral.referral_id,
            now,
            reason=f"{CLAWBACK_REASON} of order {record.order_id}",
            refund_order_id=record.order_id,
        )
        reversed_referral = self._reversed(referral, record, plan.paid_since, now)
        self._reversal.stage(
            referral,
            reversed_referral,
            plan,
            actor=actor,
            at=now,
            details={
                "order_id": record.order_id,
                "refund_amount": f"{record.amount:f}",
                "order_amount_left": f"{record.order_amount_left:f}",
            },
            within=within,
        )
        return plan.clawed_back

    def _reversed(
        self,
        referral: Referral,
        record: RefundRecord,
        paid_since: datetime | None,
        now: datetime,
    ) -> Referral:
        update: dict[str, object] = {}
        if paid_since is not None:
            history = self._caps.clawback_history(referral.advocate_id)
            update["clawed_back_at"] = now
            update["risk"] = after_clawback(
                referral.risk,
                other_clawbacks=history.clawed_back,
                rewarded_referrals=history.rewarded,
                order_id=record.order_id,
                refunded=record.amount,
                days_after_payout=(record.occurred_at - paid_since).total_seconds() / 86400,
                at=now,
            )
        return referral.move(ReferralStatus.REVERSED, now, **update)

    def _reweigh_clawbacks(self, clawed_back: Referral, now: datetime) -> None:
        """Raise the risk of the advocate's earlier clawed-back referrals to what is known now,
        after `clawed_back` (already weighed as it was written) joined them.

        Only scores move: the referrals stay reversed and their decisions stay the ones
        they were paid on. A referral that changed meanwhile is left for the next refund.
        """
        history = self._caps.clawback_history(clawed_back.advocate_id)
        if history.clawed_back < 2:
            return
        referral_ids = {
            o.referral_id
            for o in self._evidence.seen(EvidenceKind.ADVOCATE, clawed_back.advocate_id)
            if o.role == "referee" and o.referral_id
        } - {clawed_back.referral_id}
        for referral_id in sorted(referral_ids):
            referral = self._referrals.get(referral_id)
            if referral is None or referral.clawed_back_at is None:
                continue
            risk = reweighed_clawback(
                referral.risk,
                other_clawbacks=history.clawed_back - 1,
                rewarded_referrals=history.rewarded,
                at=now,
            )
            if risk is None:
                continue
            changes = self._changes.begin()
            self._referrals.stage_save(
                referral.changed(now, risk=risk), referral.version, within=changes
            )
            try:
                changes.commit()
            except ReferralMoved:
                continue

    def _outcome(self, record: RefundRecord, *, replayed: bool) -> RefundOutcome:
        referral = self._referrals.get(record.referral_id)
        status = referral.status if referral else ReferralStatus.REVERSED
        rewards = by_creation(self._rewards.of_referral(record.referral_id))
        return RefundOutcome(record=record, status=status, rewards=rewards, replayed=replayed)
