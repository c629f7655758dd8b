"""Random interleavings of approve, release, deliver, redeliver, crash-after-provider,
provider faults, refund and reconcile never pay twice, never overspend, and settle to
Σ ledger confirmed = Σ provider orders once everything has been delivered."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.clock import FixedClock
from shared.domain.referrals import TRANSITIONS, ReferralStatus
from shared.domain.rewards import HOLDS_BUDGET, Reward, RewardMessage, RewardStatus
from shared.errors import InvalidRequest
from shared.payouts import (
    PayoutOrder,
    PayoutProvider,
    PayoutRequest,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from shared.payouts.sandbox import SandboxCashProvider, SandboxGiftCardProvider
from shared.payouts.sandbox_faults import FaultPlan
from shared.repositories import keys
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Item, query_all
from tests.support import T0
from tests.unit.rewards.conftest import World
from tests.unit.rewards.test_fulfilment import DiesAfterPaying, ProcessDied

FAULTS = ("rate_limit", "5xx_before", "5xx_after", "timeout_after")


class FlakyProvider:
    """Fails the next create calls in the ways that matter for paying twice."""

    def __init__(self, inner: PayoutProvider) -> None:
        self.inner = inner
        self.armed: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def create_order(self, request: PayoutRequest) -> PayoutOrder:
        fault = self.armed.pop(0) if self.armed else None
        if fault == "rate_limit":
            raise ProviderRateLimited(2.0, provider=self.name)
        if fault == "5xx_before":
            raise ProviderUnavailable("503", provider=self.name)
        order = self.inner.create_order(request)
        if fault == "5xx_after":
            raise ProviderUnavailable("502 after processing", provider=self.name)
        if fault == "timeout_after":
            raise ProviderTimeout("read timeout after processing", provider=self.name)
        return order

    def find_order(self, idempotency_key: str) -> PayoutOrder | None:
        return self.inner.find_order(idempotency_key)

    def get_order(self, provider_reference: str) -> PayoutOrder:
        return self.inner.get_order(provider_reference)

    def list_orders(self, since: datetime) -> Iterable[PayoutOrder]:
        return self.inner.list_orders(since)


class StatusHistoryTable(MemoryTable):
    """The in-memory table, keeping each referral's stored statuses in the order written."""

    def __init__(self) -> None:
        super().__init__()
        self.histories: dict[str, list[ReferralStatus]] = {}

    def _store(self, key: tuple[str, str], item: Item | None) -> None:
        if item is not None and item.get("type") == "referral":
            history = self.histories.setdefault(str(item["doc"]["referral_id"]), [])
            status = ReferralStatus(item["status"])
            if not history or history[-1] != status:
                history.append(status)
        super()._store(key, item)


class LedgerMachine(RuleBasedStateMachine):
    referrals = Bundle("referrals")

    @initialize()
    def world(self) -> None:
        clock = FixedClock(T0)
        self.sandboxes = {
            "gift_card": SandboxGiftCardProvider(clock=clock),
            "cash": SandboxCashProvider(clock=clock),
        }
        self.flaky = {kind: FlakyProvider(p) for kind, p in self.sandboxes.items()}
        self.w = World(
            table=StatusHistoryTable(),
            clock=clock,
            queue=MemoryRewardQueue(),
            gift_faults=FaultPlan.none(),
            cash_faults=FaultPlan.none(),
            providers=dict(self.flaky),  # type: ignore[arg-type]
        )
        self.program_id = self.w.program(
            budget={"amount": "120.00", "currency": "USD"},
            per_advocate_cap=3,
            tiers=[
                {
                    "min_successful_referrals": 2,
                    "advocate_bonus": {"kind": "gift_card", "amount": "25.00", "currency": "USD"},
                }
            ],
        )
        self.codes = [self.w.advocate(self.program_id)[1] for _ in range(2)]
        self.in_queue: list[tuple[str, RewardMessage]] = []
        self.delivered: list[tuple[str, RewardMessage]] = []
        self.crashing = self.w.services(
            providers={kind: DiesAfterPaying(p) for kind, p in self.flaky.items()},
        ).fulfilment()

    # --- rules ---

    @rule(target=referrals, advocate=st.integers(0, 1))
    def refer(self, advocate: int) -> str:
        return self.w.qualified(self.program_id, self.codes[advocate])

    @rule(target=referrals, advocate=st.integers(0, 1))
    def refer_and_approve(self, advocate: int) -> str:
        referral_id = self.w.qualified(self.program_id, self.codes[advocate])
        self.w.approve(referral_id)
        return referral_id

    @rule(referral_id=referrals)
    def approve(self, referral_id: str) -> None:
        if self.w.status(referral_id) == ReferralStatus.PENDING:
            self.w.approve(referral_id)

    @rule()
    def release(self) -> None:
        self.w.release.run()
        self.in_queue += self.w.queue.take()

    @precondition(lambda self: self.in_queue)
    @rule(pick=st.integers(0, 100))
    def deliver(self, pick: int) -> None:
        kind, message = self.in_queue.pop(pick % len(self.in_queue))
        if self.w.deliver(message) is None:
            self.in_queue.append((kind, message))  # deferred: comes back later
        else:
            self.delivered.append((kind, message))

    @precondition(lambda self: self.delivered)
    @rule(pick=st.integers(0, 100))
    def redeliver(self, pick: int) -> None:
        _, message = self.delivered[pick % len(self.delivered)]
        self.w.deliver(message)

    @precondition(lambda self: self.in_queue)
    @rule(pick=st.integers(0, 100))
    def crash_after_provider(self, pick: int) -> None:
        # The message is not acknowledged, so it stays on the queue.
        _, message = self.in_queue[pick % len(self.in_queue)]
        try:
            self.crashing.fulfil(message)
        except ProcessDied:
            pass
        except Exception:  # a deferral before the provider call is fine too
            pass

    @rule(kind=st.sampled_from(["gift_card", "cash"]), fault=st.sampled_from(FAULTS))
    def arm_fault(self, kind: str, fault: str) -> None:
        self.flaky[kind].armed.append(fault)

    @rule(referral_id=referrals, full=st.booleans())
    def refund(self, referral_id: str, full: bool) -> None:
        self.w.later(minutes=1)
        # More than what is left of the order is refused, and nothing changes.
        with contextlib.suppress(InvalidRequest):
            self.w.refund(referral_id, self.w.order_of(referral_id), "45.00" if full else "30.00")

    @rule()
    def reconcile(self) -> None:
        self.w.later(minutes=20)
        self.w.reconcile.run()
        self.in_queue += self.w.queue.take()

    @rule()
    def quiesce(self) -> None:
        """Stop the faults, deliver everything, reconcile, deliver again: then check sums."""
        for provider in self.flaky.values():
            provider.armed.clear()
        for _ in range(3):
            while self.in_queue:
                _, message = self.in_queue.pop(0)
                assert self.w.deliver(message) is not None
            self.w.later(minutes=20)
            self.w.reconcile.run()
            self.in_queue += self.w.queue.take()
        entries = self._entries()
        assert all(
            e.status in (RewardStatus.CONFIRMED, RewardStatus.CANCELLED, RewardStatus.CLAWED_BACK)
            for e in entries
        ), [(e.reward_id, e.status) for e in entries]
        confirmed = sum(
            (e.amount for e in entries if e.status == RewardStatus.CONFIRMED), Decimal(0)
        )
        clawed_paid = sum(
            (
                e.amount
                for e in entries
                if e.status == RewardStatus.CLAWED_BACK and e.provider_reference
            ),
            Decimal(0),
        )
        event(f"quiesced with confirmed payouts: {confirmed > 0}")
        event(f"quiesced with a paid clawback: {clawed_paid > 0}")
        assert self._provider_paid() == confirmed + clawed_paid
        rewarded = [e for e in entries if self.w.status(e.referral_id) == ReferralStatus.REWARDED]
        assert sum((e.amount for e in rewarded), Decimal(0)) == confirmed
        assert not any(self.w.status(e.referral_id) == ReferralStatus.REWARDING for e in entries)

    def teardown(self) -> None:
        # Every run ends at quiescence, so the sums are checked on every example.
        if hasattr(self, "w"):
            self.quiesce()

    # --- invariants ---

    @invariant()
    def budget_is_never_overspent(self) -> None:
        left = self.w.budget_left(self.program_id)
        assert left >= 0
        held = sum((e.amount for e in self._entries() if e.status in HOLDS_BUDGET), Decimal(0))
        assert Decimal("120.00") - left == held

    @invariant()
    def nothing_is_paid_without_a_ledger_entry_that_may_have_paid_it(self) -> None:
        may_have_paid = {
            e.reward_id: e.amount
            for e in self._entries()
            if e.status in (RewardStatus.SENT, RewardStatus.CONFIRMED, RewardStatus.CLAWED_BACK)
        }
        orders = self._provider_orders()
        keys = [o.idempotency_key for o in orders]
        assert len(keys) == len(set(keys))
        for order in orders:
            reward_id = order.idempotency_key.removeprefix("rwd-")
            assert may_have_paid.get(reward_id) == order.amount, reward_id

    @invariant()
    def every_stored_status_history_is_a_path_in_the_life_cycle(self) -> None:
        if not hasattr(self, "w"):
            return
        table = self.w.table
        assert isinstance(table, StatusHistoryTable)
        for referral_id, history in table.histories.items():
            assert history[0] == ReferralStatus.PENDING, referral_id
            for before, after in pairwise(history):
                assert after in TRANSITIONS[before], (referral_id, history)

    @invariant()
    def the_cap_holds(self) -> None:
        per_advocate: dict[str, int] = {}
        for e in self._entries():
            if e.beneficiary == "advocate" and e.tier is None:
                per_advocate[e.advocate_id] = per_advocate.get(e.advocate_id, 0) + 1
        assert all(n <= 3 for n in per_advocate.values())

    # --- helpers ---

    def _entries(self) -> list[Reward]:
        if not hasattr(self, "w"):
            return []
        items = query_all(self.w.table, keys.REWARDS_INDEX, index="gsi1")
        return [Reward.model_validate(i["doc"]) for i in items]

    def _provider_orders(self) -> list[PayoutOrder]:
        if not hasattr(self, "sandboxes"):
            return []
        return [o for p in self.sandboxes.values() for o in p.ledger_of_orders()]

    def _provider_paid(self) -> Decimal:
        return sum((o.amount for o in self._provider_orders() if o.counts_as_paid), Decimal(0))


LedgerMachine.TestCase.settings = settings(
    # LEDGER_EXAMPLES=600 for a longer hunt; the default keeps the suite fast.
    max_examples=int(os.environ.get("LEDGER_EXAMPLES", "60")),
    stateful_step_count=30,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLedgerStateMachine = LedgerMachine.TestCase
