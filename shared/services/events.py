"""Qualifying events: the first one that meets the program's terms triggers scoring."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from shared.clock import Clock
from shared.domain.events import ReferralEvent
from shared.domain.evidence import EvidenceKind
from shared.domain.referrals import ReferralStatus
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.pii import PiiHasher, PiiKind
from shared.ports import ScoringQueue
from shared.repositories.evidence import EvidenceIndex, Observation
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository
from shared.repositories.stats import Counter, ProgramCounters
from shared.schemas.referrals import EventCreate
from shared.services.timing import occurred_at
from shared.storage.table import ConditionFailed, Table, WriteOp


@dataclass(frozen=True)
class EventOutcome:
    event: ReferralEvent
    status: ReferralStatus
    replayed: bool


def body_hash(body: EventCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json", exclude_unset=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class EventService:
    def __init__(
        self, table: Table, clock: Clock, hasher: PiiHasher, scoring: ScoringQueue
    ) -> None:
        self._programs = ProgramRepository(table)
        self._referrals = ReferralRepository(table)
        self._evidence = EvidenceIndex(table)
        self._table = table
        self._clock = clock
        self._hasher = hasher
        self._scoring = scoring

    def record(self, referral_id: str, body: EventCreate) -> EventOutcome:
        referral = self._referrals.get(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        digest = body_hash(body)
        dedupe_key = body.order_id if body.order_id is not None else body.type
        earlier = self._referrals.get_event(referral_id, dedupe_key)
        if earlier is not None:
            return self._replay(earlier, digest, referral.status)
        program = self._programs.terms(referral.program_id)
        if program is None:  # pragma: no cover - referrals always name a stored program
            raise NotFound(f"no program {referral.program_id}")
        if body.currency is not None and body.currency != program.currency:
            raise InvalidRequest.field(
                "currency",
                f"must be {program.currency}, the program's currency",
                "currency_mismatch",
            )
        at = occurred_at(body.occurred_at, self._clock)
        if at < referral.occurred_at:
            raise InvalidRequest.field(
                "occurred_at", "is before the referral was made", "before_referral"
            )
        within_window = at <= referral.attribution_deadline(program.attribution_window_days)
        qualifying = (
            referral.qualified_at is None
            and referral.status == ReferralStatus.PENDING
            and within_window
            and program.qualifies(body.type, body.amount)
        )
        payment = (
            self._hasher.digest(PiiKind.PAYMENT, body.payment_fingerprint)
            if body.payment_fingerprint
            else None
        )
        event = ReferralEvent(
            referral_id=referral_id,
            type=body.type,
            order_id=body.order_id,
            amount=body.amount,
            currency=body.currency,
            payment_fingerprint=payment,
            occurred_at=at,
            recorded_at=self._clock.now(),
            qualifying=qualifying,
            body_hash=digest,
        )
        ops: list[WriteOp] = [self._referrals.event_op(event)]
        if payment is not None:
            ops += self._evidence.put_ops(
                [
                    Observation(
                        kind=EvidenceKind.PAYMENT,
                        value=payment,
                        occurred_at=at,
                        program_id=referral.program_id,
                        advocate_id=referral.advocate_id,
                        referral_id=referral_id,
                        customer_id=referral.referee_customer_id,
                        role="referee",
                    )
                ]
            )
        status = referral.status
        if qualifying:
            qualified = referral.changed(
                self._clock.now(),
                qualified_at=at,
                qualifying_order_id=body.order_id,
                qualifying_amount=body.amount,
            )
            ops.append(self._referrals.save_op(qualified, referral.version))
            ops.append(ProgramCounters.add_op(referral.program_id, {Counter.QUALIFIED: 1}))
        try:
            self._table.write(ops)
        except ConditionFailed as exc:
            if exc.index == 0:
                winner = self._referrals.get_event(referral_id, dedupe_key)
                if winner is not None:
                    return self._replay(winner, digest, status)
            # The referral moved meanwhile (another event qualified first): record as evidence.
            return self.record(referral_id, body)
        if qualifying:
            self._scoring.request_scoring(referral_id, trigger=f"event:{dedupe_key}")
        return EventOutcome(event=event, status=status, replayed=False)

    @staticmethod
    def _replay(earlier: ReferralEvent, digest: str, status: ReferralStatus) -> EventOutcome:
        if earlier.body_hash != digest:
            raise Conflict(
                f"order {earlier.order_id or earlier.type} was already reported with other details"
            )
        return EventOutcome(event=earlier, status=status, replayed=True)
