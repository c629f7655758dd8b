"""Sandbox gift-card, cash and charity-donation providers that behave like the real ones,
offline.

They keep the promises of the port (same key -> the original order, same key with other
terms -> `ProviderConflict`), move orders pending -> sent -> confirmed on an injected
clock, and fail on purpose according to a `FaultPlan`. The local stack and the tests pay
through them; `ledger_of_orders()` and `total_paid()` let invariant tests check that
nothing was paid twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

from shared.clock import Clock, SystemClock
from shared.payouts.amounts import quantize
from shared.payouts.port import (
    OrderNotFound,
    PayoutKind,
    PayoutOrder,
    PayoutRequest,
    PayoutStatus,
    ProviderConflict,
    ProviderRejected,
)
from shared.payouts.sandbox_faults import FaultPlan
from shared.payouts.sandbox_store import InMemoryOrderStore, SandboxOrderRecord, SandboxOrderStore

# Recipients at this domain are refused, so a local run can show a rejected payout
# without configuring faults (".invalid" is reserved and never receives mail).
REJECTED_RECIPIENT_DOMAIN = "rejected.invalid"


@dataclass(frozen=True)
class SandboxTimeline:
    """How long an order stays pending, then sent, before it is confirmed."""

    pending_for: timedelta = timedelta(0)
    confirm_after: timedelta = timedelta(0)

    def status_at(self, age: timedelta, *, at_creation: bool, kind: PayoutKind) -> PayoutStatus:
        if age < self.pending_for:
            return "pending"
        # Cash is never settled in the answer that submits it, as with PayPal: the
        # creation answer says "sent" and a later look-up sees "confirmed".
        if kind == "cash" and at_creation:
            return "sent"
        if age < self.pending_for + self.confirm_after:
            return "sent"
        return "confirmed"


class _SandboxProvider:
    kind: ClassVar[PayoutKind]
    reference_prefix: ClassVar[str]

    def __init__(
        self,
        *,
        name: str,
        store: SandboxOrderStore | None = None,
        faults: FaultPlan | None = None,
        clock: Clock | None = None,
        timeline: SandboxTimeline | None = None,
    ) -> None:
        self._name = name
        self._store: SandboxOrderStore = store if store is not None else InMemoryOrderStore()
        self._faults = faults if faults is not None else FaultPlan.none()
        self._clock: Clock = clock or SystemClock()
        self._timeline = timeline if timeline is not None else SandboxTimeline()

    @property
    def name(self) -> str:
        return self._name

    def create_order(self, request: PayoutRequest) -> PayoutOrder:
        if request.kind != self.kind:
            raise ValueError(f"{self._name} pays {self.kind}, not {request.kind}")
        existing = self._store.by_key(self._name, request.idempotency_key)
        fault = self._faults.next_create_fault()
        if existing is not None and fault is not None and fault.kind == "reject":
            # A repeat of a known key is answered from the stored order, as a real
            # provider does, so a refusal can only meet a new order.
            fault = None
        if fault is not None and not fault.happens_after_processing:
            raise fault.error(self._name)
        if existing is None and _recipient_domain(request) == REJECTED_RECIPIENT_DOMAIN:
            raise ProviderRejected("recipient address refused", provider=self._name)
        record, created = self._store_order(request)
        if fault is not None and fault.happens_after_processing:
            raise fault.error(self._name)
        return self._current(record, at_creation=created)

    def find_order(self, idempotency_key: str) -> PayoutOrder | None:
        self._lookup_fault()
        record = self._store.by_key(self._name, idempotency_key)
        return self._current(record) if record is not None else None

    def get_order(self, provider_reference: str) -> PayoutOrder:
        self._lookup_fault()
        record = self._store.by_reference(self._name, provider_reference)
        if record is None:
            raise OrderNotFound(f"no order {provider_reference}", provider=self._name)
        return self._current(record)

    def list_orders(self, since: datetime) -> Iterable[PayoutOrder]:
        self._lookup_fault()
        return [order for order in self.ledger_of_orders() if order.created_at >= since]

    # --- for invariant tests and the local stack's operators ---

    def ledger_of_orders(self) -> list[PayoutOrder]:
        """Every order this provider holds, oldest first, with its current status."""
        orders = [self._current(record) for record in self._store.all(self._name)]
        return sorted(orders, key=lambda order: (order.created_at, order.provider_reference))

    def total_paid(self, currency: str) -> Decimal:
        """Sum of the amounts of orders that are not failed, in one currency."""
        return sum(
            (
                order.amount
                for order in self.ledger_of_orders()
                if order.counts_as_paid and order.currency == currency
            ),
            Decimal(0),
        )

    # --- internals ---

    def _store_order(self, request: PayoutRequest) -> tuple[SandboxOrderRecord, bool]:
        fingerprint = request.terms().fingerprint()
        created_at = self._clock.now()
        candidate = SandboxOrderRecord(
            provider=self._name,
            kind=request.kind,
            order=PayoutOrder(
                provider=self._name,
                idempotency_key=request.idempotency_key,
                provider_reference=self._reference_for(request.idempotency_key),
                status=self._timeline.status_at(timedelta(0), at_creation=True, kind=request.kind),
                amount=quantize(request.amount, request.currency),
                currency=request.currency,
                created_at=created_at,
            ),
            terms_fingerprint=fingerprint,
        )
        stored = self._store.add_if_absent(candidate)
        if stored.terms_fingerprint != fingerprint:
            raise ProviderConflict(
                f"key {request.idempotency_key} already paid "
                f"{stored.order.amount} {stored.order.currency} with other terms",
                provider=self._name,
            )
        return stored, stored is candidate

    def _reference_for(self, idempotency_key: str) -> str:
        # Derived from the key, so references never collide across restarts of a
        # file-backed sandbox; a real provider's ids are opaque, and callers must not
        # rely on this derivation.
        digest = hashlib.sha256(f"{self._name}\x1f{idempotency_key}".encode()).hexdigest()
        return f"{self.reference_prefix}-{digest[:16].upper()}"

    def _current(self, record: SandboxOrderRecord, *, at_creation: bool = False) -> PayoutOrder:
        order = record.order
        if order.status == "failed":
            return order
        age = max(self._clock.now() - order.created_at, timedelta(0))
        status = self._timeline.status_at(age, at_creation=at_creation, kind=record.kind)
        return replace(order, status=status)

    def _lookup_fault(self) -> None:
        fault = self._faults.next_lookup_fault()
        if fault is not None:
            raise fault.error(self._name)


def _recipient_domain(request: PayoutRequest) -> str:
    return request.recipient_email.rsplit("@", 1)[-1].casefold()


class SandboxGiftCardProvider(_SandboxProvider):
    """Gift cards: confirmed on creation, or after `timeline.confirm_after`."""

    kind = "gift_card"
    reference_prefix = "SBGC"

    def __init__(
        self,
        *,
        name: str = "sandbox_gift_card",
        store: SandboxOrderStore | None = None,
        faults: FaultPlan | None = None,
        clock: Clock | None = None,
        timeline: SandboxTimeline | None = None,
    ) -> None:
        super().__init__(name=name, store=store, faults=faults, clock=clock, timeline=timeline)


class SandboxCashProvider(_SandboxProvider):
    """Cash: "sent" when submitted, "confirmed" from `timeline.confirm_after` on."""

    kind = "cash"
    reference_prefix = "SBCA"

    def __init__(
        self,
        *,
        name: str = "sandbox_cash",
        store: SandboxOrderStore | None = None,
        faults: FaultPlan | None = None,
        clock: Clock | None = None,
        timeline: SandboxTimeline | None = None,
    ) -> None:
        super().__init__(name=name, store=store, faults=faults, clock=clock, timeline=timeline)


class SandboxCharityProvider(_SandboxProvider):
    """Charity donations: confirmed on creation (or after `timeline.confirm_after`), like
    a donation product at Tremendous; a repeat with another charity is a conflict."""

    kind = "charity_donation"
    reference_prefix = "SBCH"

    def __init__(
        self,
        *,
        name: str = "sandbox_charity",
        store: SandboxOrderStore | None = None,
        faults: FaultPlan | None = None,
        clock: Clock | None = None,
        timeline: SandboxTimeline | None = None,
    ) -> None:
        super().__init__(name=name, store=store, faults=faults, clock=clock, timeline=timeline)
