"""Qualifying events: the first one that meets the program's terms triggers scoring."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.atomic_changes import Changes, UnitOfWork
from shared.clock import Clock
from shared.domain.changes import BudgetShort, MonthlyCapReached, ReferralMoved
from shared.domain.commands import RecordEvent
from shared.domain.counters import Counter
from shared.domain.events import DuplicateEvent, ReferralEvent
from shared.domain.evidence import EvidenceKind, Observation
from shared.domain.programs import Program
from shared.domain.referrals import Referral, ReferralStatus
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.pii import PiiHasher, PiiKind
from shared.ports import ScoringQueue
from shared.services.commissions import later_commission
from shared.services.stores import Counters, Evidence, ProgramTerms
from shared.services.timing import not_before, occurred_at

if TYPE_CHECKING:
    from shared.services.commissions import CommissionLedger

logger = logging.getLogger(__name__)


class Referrals(Protocol):
    def get(self, referral_id: str) -> Referral | None: ...
    def get_event(self, referral_id: str, dedupe_key: str) -> ReferralEvent | None: ...
    def add_event(self, event: ReferralEvent, *, within: Changes) -> None: ...
    def stage_save(self, referral: Referral, expected_version: int, *, within: Changes) -> None: ...


@dataclass(frozen=True)
class EventOutcome:
    event: ReferralEvent
    status: ReferralStatus
    replayed: bool


class EventService:
    def __init__(
        self,
        *,
        programs: ProgramTerms,
        referrals: Referrals,
        evidence: Evidence,
        counters: Counters,
        units: UnitOfWork,
        clock: Clock,
        hasher: PiiHasher,
        scoring: ScoringQueue,
        commissions: CommissionLedger | None = None,
    ) -> None:
        self._programs = programs
        self._referrals = referrals
        self._evidence = evidence
        self._counters = counters
        self._units = units
        self._clock = clock
        self._hasher = hasher
        self._scoring = scoring
        self._commissions = commissions

    def record(
        self, referral_id: str, body: RecordEvent, *, commission: bool = True
    ) -> EventOutcome:
        referral = self._referrals.get(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        digest = body.report_hash()
        earlier = self._referrals.get_event(referral_id, body.dedupe_key)
        if earlier is not None:
            return self._replay(earlier, digest, referral.status)
        program, event = self._event(referral, body, digest)
        changes = self._staged(referral, body, event, program if commission else None)
        try:
            changes.commit()
        except DuplicateEvent:
            winner = self._referrals.get_event(referral_id, body.dedupe_key)
            if winner is not None:
                return self._replay(winner, digest, referral.status)
            return self.record(referral_id, body)
        except ReferralMoved:
            # Another event qualified first: record this one as evidence.
            return self.record(referral_id, body)
        except (BudgetShort, MonthlyCapReached):
            # The budget or the month's caps cannot cover the order's commission: the order
            # is still recorded, and earns none.
            logger.warning("commission over budget", extra={"referral_id": referral_id})
            return self.record(referral_id, body, commission=False)
        if event.qualifying:
            self._scoring.request_scoring(referral_id, trigger=f"event:{body.dedupe_key}")
        return EventOutcome(event=event, status=referral.status, replayed=False)

    def _staged(
        self,
        referral: Referral,
        body: RecordEvent,
        event: ReferralEvent,
        commission_of: Program | None,
    ) -> Changes:
        """The event's change: the event, its evidence, a qualification or a later
        order's commission (of `commission_of`, None to earn none)."""
        changes = self._units.begin()
        self._referrals.add_event(event, within=changes)
        if commission_of is not None:
            self._stage_commission(referral, commission_of, event, changes)
        if event.payment_fingerprint is not None:
            seen = _payment_seen(referral, event.payment_fingerprint, event.occurred_at)
            self._evidence.record([seen], within=changes)
        if event.qualifying:
            self._stage_qualification(referral, body, event, changes)
        return changes

    def _stage_qualification(
        self, referral: Referral, body: RecordEvent, event: ReferralEvent, changes: Changes
    ) -> None:
        qualified = referral.changed(
            self._clock.now(),
            qualified_at=event.occurred_at,
            qualifying_order_id=body.order_id,
            qualifying_amount=body.amount,
        )
        self._referrals.stage_save(qualified, referral.version, within=changes)
        self._counters.count(
            referral.program_id, {Counter.QUALIFIED: 1}, within=changes, variant=referral.variant
        )

    def _stage_commission(
        self, referral: Referral, program: Program, event: ReferralEvent, changes: Changes
    ) -> None:
        """A later purchase of a recurring commission program earns its own entry."""
        if self._commissions is None or event.qualifying:
            return
        entry = later_commission(referral, program, event, self._clock.now())
        if entry is not None:
            self._commissions.stage(entry, program.caps, within=changes)

    def _event(
        self, referral: Referral, body: RecordEvent, digest: str
    ) -> tuple[Program, ReferralEvent]:
        """The event as recorded: checked against the program's terms, payment hashed."""
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
        not_before(at, referral.occurred_at, "the referral was made", "before_referral")
        payment = (
            self._hasher.digest(PiiKind.PAYMENT, body.payment_fingerprint)
            if body.payment_fingerprint
            else None
        )
        return program, ReferralEvent(
            referral_id=referral.referral_id,
            type=body.type,
            order_id=body.order_id,
            amount=body.amount,
            currency=body.currency,
            payment_fingerprint=payment,
            occurred_at=at,
            recorded_at=self._clock.now(),
            qualifying=_qualifies(referral, program, body, at),
            body_hash=digest,
        )

    @staticmethod
    def _replay(earlier: ReferralEvent, digest: str, status: ReferralStatus) -> EventOutcome:
        if earlier.body_hash != digest:
            raise Conflict(
                f"order {earlier.order_id or earlier.type} was already reported with other details"
            )
        return EventOutcome(event=earlier, status=status, replayed=True)


def _qualifies(referral: Referral, program: Program, body: RecordEvent, at: datetime) -> bool:
    """The referral's first qualifying event: pending, in the window, on the program's terms."""
    within_window = at <= referral.attribution_deadline(program.attribution_window_days)
    return (
        referral.qualified_at is None
        and referral.status == ReferralStatus.PENDING
        and within_window
        and program.qualifies(body.type, body.amount)
    )


def _payment_seen(referral: Referral, payment: str, at: datetime) -> Observation:
    return Observation(
        kind=EvidenceKind.PAYMENT,
        value=payment,
        occurred_at=at,
        program_id=referral.program_id,
        advocate_id=referral.advocate_id,
        referral_id=referral.referral_id,
        customer_id=referral.referee_customer_id,
        role="referee",
    )
