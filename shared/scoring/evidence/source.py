"""What the feature groups read: the stored evidence as of a moment, never the wall clock.

`EvidenceSource` is the port (a repository implements it). `EvidenceView` is one
referral's evidence for one extraction: it memoises partition reads, because the ring
search and the link counts read the same partitions again and again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from shared.clock import iso
from shared.domain.advocates import Advocate
from shared.domain.events import ReferralEvent
from shared.domain.evidence import EvidenceKind
from shared.domain.programs import Program
from shared.domain.referrals import Referral
from shared.domain.sightings import ReferralOutcome, Seen

# What the features read from the referral's own document.
OWN_INPUTS = (
    "advocate_id",
    "program_id",
    "referee_customer_id",
    "referee_email",
    "fingerprint",
    "occurred_at",
    "qualified_at",
    "qualifying_amount",
)


class EvidenceSource(Protocol):
    def referral(self, referral_id: str) -> Referral | None: ...

    def advocate(self, advocate_id: str) -> Advocate | None: ...

    def program(self, program_id: str) -> Program | None: ...

    def seen_until(self, kind: EvidenceKind, value: str, until: datetime) -> list[Seen]:
        """Everything seen with this device, IP, card, customer... up to `until`."""
        ...

    def events(self, referral_id: str) -> list[ReferralEvent]: ...

    def outcome(self, referral_id: str) -> ReferralOutcome | None:
        """How the referral stands, without reading its document."""
        ...


class Found(NamedTuple):
    """What one feature group found: feature values and the evidence behind them."""

    values: dict[str, float]
    evidence: dict[str, Any]


class EvidenceView:
    """One referral, its advocate and program, and the evidence up to `as_of`."""

    def __init__(
        self,
        source: EvidenceSource,
        customer_hash: Callable[[str], str],
        referral: Referral,
        advocate: Advocate,
        program: Program,
        as_of: datetime,
    ) -> None:
        self.source = source
        self.customer_hash = customer_hash
        self.referral = referral
        self.advocate = advocate
        self.program = program
        self.as_of = as_of
        self.t = referral.occurred_at
        self._memo: dict[tuple[EvidenceKind, str], list[Seen]] = {}
        self._events: list[ReferralEvent] | None = None
        self._advocate_referrals: list[Seen] | None = None

    def seen(self, kind: EvidenceKind, value: str) -> list[Seen]:
        key = (kind, value)
        if key not in self._memo:
            self._memo[key] = self.source.seen_until(kind, value, self.as_of)
        return self._memo[key]

    def customer(self, customer_id: str) -> list[Seen]:
        """What was seen with a customer (as advocate or referee)."""
        return self.seen(EvidenceKind.CUSTOMER, self.customer_hash(customer_id))

    def seen_with_advocate(self, advocate_id: str) -> list[Seen]:
        """What was seen with an advocate enrolment: its own and its referees' sightings."""
        return self.seen(EvidenceKind.ADVOCATE, advocate_id)

    @property
    def events(self) -> list[ReferralEvent]:
        """The referral's own events up to `as_of`."""
        if self._events is None:
            own = self.source.events(self.referral.referral_id)
            self._events = [e for e in own if e.occurred_at <= self.as_of]
        return self._events

    def advocate_referrals(self) -> list[Seen]:
        """The advocate's other referrals, as the advocate's partition shows them."""
        if self._advocate_referrals is None:
            self._advocate_referrals = [
                o
                for o in self.seen_with_advocate(self.advocate.advocate_id)
                if o.role == "referee"
                and o.referral_id
                and o.referral_id != self.referral.referral_id
            ]
        return self._advocate_referrals

    def window(self, centre: datetime, width: timedelta) -> tuple[str, str]:
        """Inclusive ISO bounds of `centre +- width`, cut at as_of."""
        return iso(centre - width), iso(min(centre + width, self.as_of))


def flag(value: bool) -> float:
    return 1.0 if value else 0.0


def equal(first: str | None, second: str | None) -> bool:
    return bool(first) and first == second
