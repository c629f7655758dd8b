"""A reward-fulfilment world on the in-memory table: intake services, the release job, the
fulfilment consumer, refunds, reconciliation and sandbox providers, all on one clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.bootstrap import Services, bootstrap
from shared.clock import FixedClock
from shared.domain.referrals import ReferralStatus, Risk
from shared.domain.rewards import Reward, RewardMessage
from shared.payouts import PayoutProvider
from shared.payouts.sandbox import (
    SandboxCashProvider,
    SandboxCharityProvider,
    SandboxGiftCardProvider,
)
from shared.payouts.sandbox_faults import Fault, FaultPlan
from shared.pii import PiiHasher
from shared.ports import RewardQueue
from shared.repositories.advocates import AdvocateRepository
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository
from shared.repositories.rewards import RewardRepository
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import EventCreate, ReferralCreate
from shared.schemas.rewards import RefundCreate
from shared.services.fulfilment import FulfilmentOutcome, RetryLater
from shared.services.refunds import RefundOutcome
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Table
from tests.support import T0, advocate_body, program_body, purchase_body, referral_body


@dataclass
class World:
    table: MemoryTable
    clock: FixedClock
    queue: MemoryRewardQueue
    gift_faults: FaultPlan
    cash_faults: FaultPlan
    providers: dict[str, PayoutProvider]
    retries: list[RetryLater] = field(default_factory=list)
    # The referrals a test arranged, when it needs them later.
    referral_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        services = self.services()
        self.programs = services.programs
        self.advocates = services.advocates
        self.intake = services.referrals
        self.events = services.events
        self.release = services.release
        self.fulfilment = services.fulfilment()
        self.refunds = services.refunds
        self.reconcile = services.reconcile
        self.ledger = services.ledger
        self.referral_repo = ReferralRepository(self.table)
        self.program_repo = ProgramRepository(self.table)
        self.advocate_repo = AdvocateRepository(self.table)
        self.reward_repo = RewardRepository(self.table)

    def services(
        self,
        *,
        table: Table | None = None,
        providers: Mapping[str, PayoutProvider] | None = None,
        reward_queue: RewardQueue | None = None,
    ) -> Services:
        """The world's services, or the same over another table, providers or queue."""
        return bootstrap(
            table=table if table is not None else self.table,
            clock=self.clock,
            hasher=PiiHasher(lambda: b"k" * 32),
            providers=providers if providers is not None else self.providers,
            reward_queue=reward_queue if reward_queue is not None else self.queue,
        )

    # --- arranging ---

    def program(self, **overrides: Any) -> str:
        body = program_body(**{"holding_period_days": 0, **overrides})
        return self.programs.create(ProgramCreate.model_validate(body).command()).program_id

    def advocate(self, program_id: str) -> tuple[str, str]:
        enrolment = self.advocates.enrol(
            program_id, AdvocateEnrol.model_validate(advocate_body()).command()
        )
        return enrolment.advocate.advocate_id, enrolment.advocate.referral_code

    def qualified(
        self, program_id: str, code: str, *, order_id: str | None = None, amount: str = "45.00"
    ) -> str:
        referral = self.intake.create(
            ReferralCreate.model_validate(referral_body(program_id, code)).command()
        )
        self.events.record(
            referral.referral_id,
            EventCreate.model_validate(purchase_body(order_id=order_id, amount=amount)).command(),
        )
        return referral.referral_id

    def approve(self, referral_id: str, risk: Risk | None = None) -> None:
        """What scoring or a finance approval does: the referral waits in `holding`."""
        referral = self.referral_repo.get(referral_id)
        assert referral is not None
        held = referral.move(ReferralStatus.HOLDING, self.clock.now(), risk=risk or referral.risk)
        self.referral_repo.save(held, referral.version)

    def approved(self, program_id: str, code: str, **kwargs: Any) -> str:
        referral_id = self.qualified(program_id, code, **kwargs)
        self.approve(referral_id)
        return referral_id

    # --- acting ---

    def deliver(self, message: RewardMessage) -> FulfilmentOutcome | None:
        try:
            return self.fulfilment.fulfil(message)
        except RetryLater as exc:
            self.retries.append(exc)
            return None

    def drain(self, rounds: int = 10) -> None:
        """Deliver every queued message, putting deferred ones back, until the queue is empty."""
        for _ in range(rounds):
            batch = self.queue.take()
            if not batch:
                return
            for kind, message in batch:
                if self.deliver(message) is None:
                    self.queue.send_reward(kind, message.reward_id, message.referral_id)
        raise AssertionError("the queue did not drain")

    def refund(
        self, referral_id: str, order_id: str, amount: str, **overrides: Any
    ) -> RefundOutcome:
        body = {"order_id": order_id, "amount": amount, "currency": "USD", **overrides}
        return self.refunds.record(referral_id, RefundCreate.model_validate(body).command())

    # --- observing ---

    def rewards(self, referral_id: str) -> list[Reward]:
        return self.ledger.rewards_of(referral_id)

    def status(self, referral_id: str) -> ReferralStatus:
        referral = self.referral_repo.get(referral_id)
        assert referral is not None
        return referral.status

    def budget_left(self, program_id: str) -> Decimal:
        left = self.reward_repo.budget_left(program_id)
        assert left is not None
        return left

    def paid_orders(self) -> list[Any]:
        orders = []
        for provider in self.providers.values():
            orders += [o for o in provider.ledger_of_orders() if o.counts_as_paid]  # type: ignore[attr-defined]
        return orders

    def order_of(self, referral_id: str) -> str:
        referral = self.referral_repo.get(referral_id)
        assert referral is not None and referral.qualifying_order_id is not None
        return referral.qualifying_order_id

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))


WorldFactory = Callable[..., World]


@pytest.fixture
def make_world() -> WorldFactory:
    def build(
        gift_script: list[Fault | None] | None = None, cash_script: list[Fault | None] | None = None
    ) -> World:
        clock = FixedClock(T0)
        gift_faults = FaultPlan(script=gift_script or [])
        cash_faults = FaultPlan(script=cash_script or [])
        providers: dict[str, PayoutProvider] = {
            "gift_card": SandboxGiftCardProvider(faults=gift_faults, clock=clock),
            "cash": SandboxCashProvider(faults=cash_faults, clock=clock),
            "charity_donation": SandboxCharityProvider(clock=clock),
        }
        return World(
            table=MemoryTable(),
            clock=clock,
            queue=MemoryRewardQueue(),
            gift_faults=gift_faults,
            cash_faults=cash_faults,
            providers=providers,
        )

    return build


@pytest.fixture
def world(make_world: WorldFactory) -> World:
    return make_world()
