"""The money path on one table, one clock and faulty ports, driven as production drives it.

Clients retry API calls that failed; queue consumers are redelivered what they did not
acknowledge; the scheduled jobs (release, re-score, reconcile) run again on schedule.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from shared.adapters.memory_blocklist import MemoryBlocklist
from shared.bootstrap import bootstrap
from shared.clock import FixedClock
from shared.domain.points import PointsAccount, PointsEntry
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import Reward, RewardMessage, RewardStatus
from shared.errors import Conflict
from shared.payouts.sandbox import (
    SandboxCashProvider,
    SandboxCharityProvider,
    SandboxGiftCardProvider,
)
from shared.pii import PiiHasher
from shared.ports import RewardQueue, ScoringQueue
from shared.repositories.points import PointsLedger
from shared.repositories.referrals import ReferralRepository
from shared.repositories.rewards import RewardRepository
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import EventCreate, ReferralCreate
from shared.schemas.rewards import RefundCreate
from shared.storage.table import Table
from tests.fault.proxies import FaultyProvider, FaultyQueue, FaultyTable, Injector
from tests.fault.queues import Message, RewardQueuesOnSqs, ScoringQueueOnSqs, SimulatedQueue
from tests.support import T0, program_body

T = TypeVar("T")
CLIENT_ATTEMPTS = 8
ROUND = timedelta(minutes=7)  # longer than any visibility timeout or retry delay
MAX_ROUNDS = 40
BUDGET = Decimal("5000.00")
# The points program's terms: the advocate earns points, the referee cash.
ADVOCATE_POINTS = 500
POINT_VALUE = Decimal("0.01")
FINAL_REWARD = frozenset({RewardStatus.CONFIRMED, RewardStatus.CANCELLED, RewardStatus.CLAWED_BACK})
_parties = itertools.count(1)


def _party() -> int:
    return next(_parties)


@dataclass
class FaultWorld:
    table: Table
    injector: Injector
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    budget_violations: list[str] = field(default_factory=list)
    job_failures: list[str] = field(default_factory=list)
    program_id: str = ""
    # Program terms beside the defaults (a donating program, say).
    program_terms: dict[str, Any] = field(default_factory=dict)
    # The advocate earns points (ADVOCATE_POINTS at POINT_VALUE) instead of a gift card.
    points: bool = False
    advocate_customers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.faulty_table = FaultyTable(self.table, self.injector, self.check_budget)
        self.scoring_queue = ScoringQueueOnSqs(self.clock)
        self.reward_queues = RewardQueuesOnSqs(self.clock)
        self.scoring_port = FaultyQueue(self.scoring_queue, ScoringQueue, self.injector)
        self.reward_port = FaultyQueue(self.reward_queues, RewardQueue, self.injector)
        self.sandboxes: dict[str, Any] = {
            "gift_card": SandboxGiftCardProvider(clock=self.clock),
            "cash": SandboxCashProvider(clock=self.clock),
            "charity_donation": SandboxCharityProvider(clock=self.clock),
        }
        self.providers = {k: FaultyProvider(p, self.injector) for k, p in self.sandboxes.items()}
        providers: Any = self.providers
        services = bootstrap(
            table=self.faulty_table,
            clock=self.clock,
            hasher=PiiHasher(lambda: b"k" * 32),
            providers=providers,
            reward_queue=self.reward_port,  # type: ignore[arg-type]
            scoring_queue=self.scoring_port,  # type: ignore[arg-type]
            blocklist=MemoryBlocklist(),
        )
        self.programs = services.programs
        self.advocates = services.advocates
        self.intake = services.referrals
        self.events = services.events
        self.scoring = services.scoring
        self.rescore = services.sweep
        self.release = services.release
        self.fulfilment = services.fulfilment()
        self.refunds = services.refunds
        self.reconcile = services.reconcile
        self.referral_repo = ReferralRepository(self.table)
        self.reward_repo = RewardRepository(self.table)

    # --- arranging (never faulted) --------------------------------------------------------

    def arrange_program(self) -> None:
        body = program_body(
            holding_period_days=0,
            budget={"amount": f"{BUDGET}", "currency": "USD"},
            **self.program_terms,
        )
        if self.points:
            body["rewards"]["advocate"] = {"kind": "points", "points": str(ADVOCATE_POINTS)}
            body["point_value"] = {"amount": f"{POINT_VALUE}", "currency": "USD"}
        self.program_id = self.programs.create(
            ProgramCreate.model_validate(body).command()
        ).program_id

    def arrange_advocate(self) -> str:
        n = _party()
        body = {
            "customer_id": f"adv{n}",
            "email": f"adv{n}@example.com",
            "context": _context(n, "adv"),
            "occurred_at": self.clock.now(),
        }
        advocate = self.advocates.enrol(
            self.program_id, AdvocateEnrol.model_validate(body).command()
        )
        self.advocate_customers.append(f"adv{n}")
        return advocate.advocate.referral_code

    # --- clients: an API call that failed is sent again -----------------------------------

    def client(self, call: Callable[[], T], on_conflict: Callable[[], T] | None = None) -> T:
        last: BaseException | None = None
        for attempt in range(CLIENT_ATTEMPTS):
            try:
                return call()
            except Conflict:
                # A retry meeting what its own lost first attempt wrote.
                if attempt == 0 or on_conflict is None:
                    raise
                return on_conflict()
            except BaseException as exc:  # a 5xx to the client, whatever it was
                if isinstance(exc, KeyboardInterrupt | AssertionError):
                    raise
                last = exc
            finally:
                self.check_budget()
        raise AssertionError(f"the client gave up after {CLIENT_ATTEMPTS} attempts: {last!r}")

    def refer_and_buy(self, code: str) -> tuple[str, str]:
        n = _party()
        customer = f"ref{n}"
        body = ReferralCreate.model_validate(
            {
                "program_id": self.program_id,
                "referral_code": code,
                "referee": {"customer_id": customer, "email": f"{customer}@example.org"},
                "context": _context(n, "ref"),
                "occurred_at": self.clock.now(),
            }
        ).command()

        def recorded() -> str:
            found = self.referral_repo.find_by_referee(self.program_id, customer)
            assert found is not None, "a referral refused as a duplicate must exist"
            return found.referral_id

        referral_id = self.client(lambda: self.intake.create(body).referral_id, recorded)
        order_id = f"ord{n}"
        purchase = EventCreate.model_validate(
            {
                "type": "purchase",
                "order_id": order_id,
                "amount": "45.00",
                "currency": "USD",
                "payment_fingerprint": f"card{n}",
                "occurred_at": self.clock.now(),
            }
        ).command()
        self.client(lambda: self.events.record(referral_id, purchase))
        return referral_id, order_id

    def refund(self, referral_id: str, order_id: str) -> None:
        body = RefundCreate.model_validate(
            {"order_id": order_id, "amount": "45.00", "currency": "USD"}
        )
        self.client(lambda: self.refunds.record(referral_id, body.command()))

    # --- consumers and jobs ---------------------------------------------------------------

    def deliver_scoring(self) -> int:
        def handle(message: Message) -> None:
            referral_id, trigger = message.body
            self.scoring.score(referral_id, trigger, message.sent_at)

        return self.scoring_queue.queue.deliver(handle, self.check_budget)

    def deliver_rewards(self) -> int:
        def handle(message: Message) -> None:
            reward_id, referral_id = message.body
            self.fulfilment.fulfil(RewardMessage(reward_id=reward_id, referral_id=referral_id))

        return sum(q.deliver(handle, self.check_budget) for q in self.reward_queues.queues.values())

    def job(self, name: str, run: Callable[[], object]) -> None:
        try:
            run()
        except BaseException as exc:  # a failed run; the schedule runs it again
            if isinstance(exc, KeyboardInterrupt | AssertionError):
                raise
            self.job_failures.append(f"{name}: {exc!r}")
        finally:
            self.check_budget()

    def run_release(self) -> None:
        self.job("release", lambda: self.release.run(self.clock.now()))

    def run_reconcile(self) -> None:
        self.job("reconcile", lambda: self.reconcile.run(self.clock.now()))

    def run_rescore(self) -> None:
        self.job("rescore", lambda: self.rescore.rescore_unpaid(self.clock.now()))

    def quiesce(self) -> int:
        """Let time pass and everything run again until nothing is left to do."""
        for rounds in range(1, MAX_ROUNDS + 1):
            self.clock.advance(ROUND)
            self.scoring_port.flush()
            self.reward_port.flush()
            self.deliver_scoring()
            self.run_rescore()
            self.run_release()
            self.deliver_rewards()
            self.run_reconcile()
            if self.settled():
                return rounds
        return MAX_ROUNDS + 1

    def settled(self) -> bool:
        if self.scoring_port.holding or self.reward_port.holding:
            return False
        if any(q.in_flight for q in self.queues()):
            return False
        for referral in self.referrals():
            if referral.status not in (ReferralStatus.REWARDED, ReferralStatus.REVERSED):
                return False
            if any(
                r.status not in FINAL_REWARD or _unsettled_clawback(r)
                for r in self.reward_repo.of_referral(referral.referral_id)
            ):
                return False
        return True

    # --- observing (straight from the table, never faulted) -------------------------------

    def points_accounts(self) -> list[PointsAccount]:
        ledger = PointsLedger(self.table)
        return [ledger.account(self.program_id, c) for c in self.advocate_customers]

    def points_history(self, account: PointsAccount) -> list[PointsEntry]:
        entries, cursor = PointsLedger(self.table).history(
            account.program_id, account.customer_id, limit=100, cursor=None
        )
        assert cursor is None
        return entries

    def queues(self) -> list[SimulatedQueue]:
        return [self.scoring_queue.queue, *self.reward_queues.queues.values()]

    def referrals(self) -> list[Any]:
        found, cursor = self.referral_repo.of_program(self.program_id, limit=100)
        assert cursor is None
        return found

    def budget_left(self) -> Decimal:
        left = self.reward_repo.budget_left(self.program_id)
        assert left is not None
        return left

    def check_budget(self) -> None:
        if not self.program_id:
            return
        left = self.reward_repo.budget_left(self.program_id)
        if left is not None and left < 0:
            self.budget_violations.append(f"budget {left} at {self.clock.now().isoformat()}")


def _context(n: int, role: str) -> dict[str, str]:
    # Every party on its own device, card and /24, so the rules see nothing linking them.
    return {
        "ip": f"10.{n // 200 % 250}.{n % 200}.{7 if role == 'adv' else 9}",
        "device_id": f"dev-{role}{n}",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/128.0",
        "country": "US",
    }


def _unsettled_clawback(reward: Reward) -> bool:
    """Clawed back while `sent`, and nobody knows yet whether the payout went out:
    reconciliation settles it (a reference, or cancelled with its budget returned)."""
    return (
        reward.status == RewardStatus.CLAWED_BACK
        and reward.provider is not None
        and reward.provider_reference is None
    )
