"""Reconciliation: compare the ledger with the providers' records and settle what is stuck.

Four passes; the first three by idempotency key:

1. Entries still `created`, `queued` or `sent` long after their last change (a later
   order's commission only once its holding period, `held_until`, has passed): look the
   order up by key. If the provider has it, the entry follows it (confirmed, failed, or
   still in flight with its reference). If not, the entry is queued again, and fulfilment
   looks the key up once more before it pays; nothing is ever re-issued from here.
2. The providers' recent orders: each must belong to an entry the ledger counts as paid,
   for the same amount. A hashed key (an id too long to be readable) is found among the
   entries paid lately, by the key each was paid under. A clawed-back entry that turns
   out to have been paid gets its provider reference.
3. Recently confirmed entries: each must have an order at its provider.
4. Referrals still `rewarding` after every entry was confirmed (the worker that confirmed
   the last one died before moving the referral on): they move to `rewarded`.
5. Entries clawed back while `sent` and still without a provider reference: looked up by
   key. A payout found gets its reference; none found means the money never left (the
   payout met a 5xx, 429 or timeout before the provider took it, and fulfilment never pays
   a clawed-back entry), so the entry is cancelled and its amount returns to the budget.
   After `STUCK_AFTER` no call made before the clawback can still be in flight.

Whatever cannot be fixed by following the provider is reported as a `Mismatch`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.clock import Clock, iso
from shared.domain.programs import POINTS
from shared.domain.rewards import Reward, RewardStatus, referral_of
from shared.payouts import PayoutOrder, PayoutProvider, ProviderError, idempotency_key_for
from shared.ports import RewardQueue
from shared.services.fulfilment import FulfilmentService
from shared.services.ledger import Change, RewardLedger

if TYPE_CHECKING:
    from shared.repositories.referral_schedule import ReferralSchedule

logger = logging.getLogger(__name__)

# An entry untouched this long is stuck: a queue message lives minutes, not this long.
STUCK_AFTER = timedelta(minutes=15)
LOOKBACK = timedelta(days=3)
_READABLE_KEY = "rwd-"

ACTOR = "system:reconcile"
_PAID_IN_LEDGER = frozenset({RewardStatus.SENT, RewardStatus.CONFIRMED, RewardStatus.CLAWED_BACK})


@dataclass(frozen=True)
class Mismatch:
    code: str
    provider: str
    idempotency_key: str | None
    reward_id: str | None
    ledger_status: str | None
    provider_status: str | None
    ledger_amount: str | None
    provider_amount: str | None
    detail: str


@dataclass
class ReconcileReport:
    now: datetime
    checked: int = 0
    confirmed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    references_attached: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    never_paid: list[str] = field(default_factory=list)
    provider_orders_seen: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.mismatches and not self.errors

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["now"] = iso(self.now)
        data["clean"] = self.clean
        return data


class ReconcileService:
    def __init__(
        self,
        clock: Clock,
        providers: Mapping[str, PayoutProvider],
        queue: RewardQueue,
        *,
        ledger: RewardLedger,
        fulfilment: FulfilmentService,
        schedule: ReferralSchedule,
    ) -> None:
        self._clock = clock
        self._providers = dict(providers)
        self._queue = queue
        self._rewards = ledger.rewards
        self._fulfilment = fulfilment
        self._ledger = ledger
        self._schedule = schedule
        self._hashed: dict[str, str] = {}

    def run(self, now: datetime | None = None) -> ReconcileReport:
        now = now or self._clock.now()
        report = ReconcileReport(now=now)
        for status in (RewardStatus.CREATED, RewardStatus.QUEUED, RewardStatus.SENT):
            for reward in self._changed(status, before=now - STUCK_AFTER):
                # A later order's commission still in its holding period is not stuck.
                if reward.held_until is None or reward.held_until <= now:
                    self._settle_stuck(reward, report)
        seen = self._check_provider_orders(now, report)
        self._check_confirmed(now, seen, report)
        self._settle_rewarding(now, report)
        self._settle_unpaid_clawbacks(now, report)
        log = logger.info if report.clean else logger.warning
        log("reconcile run", extra={"report": report.as_dict()})
        return report

    # --- pass 1: stuck entries ------------------------------------------------------------

    def _settle_stuck(self, stale: Reward, report: ReconcileReport) -> None:
        reward = self._rewards.get(stale.filed_under, stale.reward_id)
        if reward is None or reward.status != stale.status:
            return
        report.checked += 1
        if reward.kind == POINTS:
            # Paid on the points ledger in the write that confirms it: nothing to look up,
            # and a delivery credits it at most once.
            self._requeue(reward, report)
            return
        provider, key = self._provider_and_key(reward, report)
        if provider is None or key is None:
            return
        try:
            order = provider.find_order(key)
        except ProviderError as exc:
            report.errors.append({"reward_id": reward.reward_id, "error": str(exc)})
            return
        if order is None:
            self._requeue(reward, report)
            return
        outcome = self._fulfilment.record(reward, order)
        if outcome.status == RewardStatus.CONFIRMED:
            report.confirmed.append(reward.reward_id)
        elif outcome.status == RewardStatus.FAILED:
            report.failed.append(reward.reward_id)
        else:
            report.in_flight.append(reward.reward_id)

    def _requeue(self, reward: Reward, report: ReconcileReport) -> None:
        try:
            self._queue.send_reward(reward.kind, reward.reward_id, reward.filed_under)
        except Exception as exc:
            report.errors.append({"reward_id": reward.reward_id, "error": str(exc)})
            return
        report.requeued.append(reward.reward_id)

    # --- pass 2: every recent provider order belongs to a paid entry ----------------------

    def _check_provider_orders(self, now: datetime, report: ReconcileReport) -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        self._hashed = self._hashed_keys(now)
        for provider in self._distinct_providers():
            keys = seen.setdefault(provider.name, set())
            try:
                orders = list(provider.list_orders(now - LOOKBACK - STUCK_AFTER))
            except ProviderError as exc:
                report.errors.append({"provider": provider.name, "error": str(exc)})
                continue
            for order in orders:
                keys.add(order.idempotency_key)
                report.provider_orders_seen += 1
                self._check_order(provider, order, report)
        return seen

    def _check_order(
        self, provider: PayoutProvider, order: PayoutOrder, report: ReconcileReport
    ) -> None:
        reward_id = reward_id_of_key(order.idempotency_key) or self._hashed.get(
            order.idempotency_key
        )
        if reward_id is None:
            report.mismatches.append(
                _mismatch("unknown_key", provider, order, None, "not a readable key of ours")
            )
            return
        reward = self._rewards.get(referral_of(reward_id), reward_id)
        if reward is None:
            report.mismatches.append(
                _mismatch("order_without_entry", provider, order, None, "no such ledger entry")
            )
            return
        if order.counts_as_paid and reward.status == RewardStatus.CLAWED_BACK:
            if reward.provider_reference is None:
                self._fulfilment.record(reward, order)
                report.references_attached.append(reward.reward_id)
            return
        if order.counts_as_paid and reward.status not in _PAID_IN_LEDGER:
            report.mismatches.append(
                _mismatch(
                    f"paid_but_{reward.status.value}",
                    provider,
                    order,
                    reward,
                    "the provider paid an entry the ledger does not count as paid",
                )
            )
            return
        if order.status == "failed" and reward.status == RewardStatus.CONFIRMED:
            report.mismatches.append(
                _mismatch(
                    "confirmed_but_provider_failed",
                    provider,
                    order,
                    reward,
                    order.failure_reason or "the provider reports the payout failed",
                )
            )
            return
        paid = (order.amount, order.currency)
        if order.counts_as_paid and paid != (reward.amount, reward.currency):
            report.mismatches.append(
                _mismatch(
                    "amount_differs",
                    provider,
                    order,
                    reward,
                    "the provider paid another amount than the ledger holds",
                )
            )

    # --- pass 3: every recently confirmed entry has an order -----------------------------

    def _check_confirmed(
        self, now: datetime, seen: dict[str, set[str]], report: ReconcileReport
    ) -> None:
        for reward in self._changed(RewardStatus.CONFIRMED, after=now - LOOKBACK, before=now):
            if reward.kind == POINTS:
                continue  # its payment is the ledger posting written with the confirmation
            provider, key = self._provider_and_key(reward, report)
            if provider is None or key is None or key in seen.get(provider.name, set()):
                continue
            try:
                order = provider.find_order(key)
            except ProviderError as exc:
                report.errors.append({"reward_id": reward.reward_id, "error": str(exc)})
                continue
            if order is None:
                report.mismatches.append(
                    Mismatch(
                        code="confirmed_without_order",
                        provider=provider.name,
                        idempotency_key=key,
                        reward_id=reward.reward_id,
                        ledger_status=reward.status.value,
                        provider_status=None,
                        ledger_amount=f"{reward.amount:f}",
                        provider_amount=None,
                        detail="the ledger says confirmed but the provider has no order",
                    )
                )

    # --- pass 4: referrals left rewarding ------------------------------------------------

    def _settle_rewarding(self, now: datetime, report: ReconcileReport) -> None:
        for referral in self._schedule.rewarding_since(now - STUCK_AFTER):
            if self._ledger.settle_referral(referral.referral_id, ACTOR):
                report.settled.append(referral.referral_id)

    # --- pass 5: clawbacks of payouts that never happened --------------------------------

    def _settle_unpaid_clawbacks(self, now: datetime, report: ReconcileReport) -> None:
        for stale in self._changed(
            RewardStatus.CLAWED_BACK, after=now - LOOKBACK, before=now - STUCK_AFTER
        ):
            if stale.provider is None or stale.provider_reference is not None:
                continue
            provider, key = self._provider_and_key(stale, report)
            if provider is None or key is None:
                continue
            try:
                order = provider.find_order(key)
            except ProviderError as exc:
                report.errors.append({"reward_id": stale.reward_id, "error": str(exc)})
                continue
            if order is not None:
                self._fulfilment.record(stale, order)
                report.references_attached.append(stale.reward_id)
                continue

            def decide(current: Reward) -> Change | None:
                if current.status != RewardStatus.CLAWED_BACK or current.provider_reference:
                    return None
                return self._ledger.never_paid(current, now)

            applied = self._ledger.apply(stale.filed_under, stale.reward_id, decide)
            if applied is not None and applied.changed:
                report.never_paid.append(stale.reward_id)

    # --- helpers ------------------------------------------------------------------------

    def _hashed_keys(self, now: datetime) -> dict[str, str]:
        """The entries paid (or paying) lately whose ids are too long for a readable key
        (a later order's commission, `<referral_id>-advocate-order-<order_id>`), by the
        hashed key they were paid under."""
        return {
            reward.idempotency_key: reward.reward_id
            for status in _PAID_IN_LEDGER
            for reward in self._changed(status, after=now - LOOKBACK - STUCK_AFTER, before=now)
            if reward.idempotency_key is not None
            and not reward.idempotency_key.startswith(_READABLE_KEY)
        }

    def _changed(
        self, status: RewardStatus, *, before: datetime, after: datetime | None = None
    ) -> list[Reward]:
        # Read in full before anything moves: settling an entry takes it out of the status.
        return list(
            self._rewards.each_with_status(status, changed_after=after, changed_before=before)
        )

    def _provider_and_key(
        self, reward: Reward, report: ReconcileReport
    ) -> tuple[PayoutProvider | None, str | None]:
        provider = self._providers.get(reward.kind)
        if provider is None or (reward.provider and reward.provider != provider.name):
            report.errors.append(
                {
                    "reward_id": reward.reward_id,
                    "error": f"provider {reward.provider or reward.kind} is not configured",
                }
            )
            return None, None
        key = reward.idempotency_key or idempotency_key_for(reward.reward_id, provider.name)
        return provider, key

    def _distinct_providers(self) -> list[PayoutProvider]:
        unique: dict[str, PayoutProvider] = {}
        for provider in self._providers.values():
            unique.setdefault(provider.name, provider)
        return list(unique.values())


def reward_id_of_key(key: str) -> str | None:
    """The reward a readable key (`rwd-<reward_id>[.<attempt>]`) was issued for."""
    if not key.startswith(_READABLE_KEY):
        return None
    reward_id = key[len(_READABLE_KEY) :]
    head, dot, attempt = reward_id.rpartition(".")
    if dot and attempt.isdigit():
        reward_id = head
    return reward_id or None


def _mismatch(
    code: str, provider: PayoutProvider, order: PayoutOrder, reward: Reward | None, detail: str
) -> Mismatch:
    return Mismatch(
        code=code,
        provider=provider.name,
        idempotency_key=order.idempotency_key,
        reward_id=reward.reward_id if reward else reward_id_of_key(order.idempotency_key),
        ledger_status=reward.status.value if reward else None,
        provider_status=order.status,
        ledger_amount=f"{reward.amount:f}" if reward else None,
        provider_amount=f"{order.amount:f}",
        detail=detail,
    )
