"""The points ledger's rules: balance and debt never go below zero, redeemed points that a
clawback takes back become debt that later earnings repay first, and

    earned - redeemed - clawed_back == balance - debt

after any sequence of earnings, redemptions and clawbacks, stored or not. Redemptions are
idempotent on their reference, and concurrent ones never take the balance below zero."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shared.clock import FixedClock
from shared.domain.points import PointsAccount, PointsShort, RedeemPoints
from shared.domain.rewards import Reward, RewardStatus
from shared.errors import Conflict, NotFound
from shared.repositories.points import PointsLedger
from shared.repositories.unit_of_work import UnitOfWork
from shared.schemas.programs import ProgramCreate
from shared.services.points import PointsPayout, PointsService
from shared.storage.memory_table import MemoryTable
from tests.finance_support import services_on
from tests.support import T0, program_body, unique

CUSTOMER = "cust-1"


def _holds(account: PointsAccount) -> None:
    assert account.balance >= 0
    assert account.debt >= 0
    assert account.balance == 0 or account.debt == 0
    net = account.earned - account.redeemed - account.clawed_back
    assert net == account.balance - account.debt


# --- the account, as a value ------------------------------------------------------------

Operation = st.tuples(st.sampled_from(["earn", "redeem", "claw_back"]), st.integers(1, 1_000))


@given(st.lists(Operation, max_size=40))
def test_any_sequence_of_postings_keeps_the_invariants(operations: list[tuple[str, int]]) -> None:
    account = PointsAccount(program_id="prg", customer_id=CUSTOMER)
    for n, (operation, points) in enumerate(operations):
        try:
            if operation == "earn":
                account = account.earn(points, T0, reward_id=f"r{n}").after
            elif operation == "redeem":
                account = account.redeem(points, T0, reference=f"o{n}").after
            else:
                account = account.claw_back(points, T0, reward_id=f"r{n}").after
        except PointsShort:
            assert points > account.balance
        _holds(account)


@given(st.integers(1, 10_000), st.integers(0, 10_000), st.integers(1, 10_000))
def test_an_earning_after_debt_repays_the_debt_before_the_balance_grows(
    earned: int, redeemed: int, later: int
) -> None:
    # Given an account that redeemed some of an earning that was then clawed back
    redeemed = min(redeemed, earned)
    account = PointsAccount(program_id="prg", customer_id=CUSTOMER)
    account = account.earn(earned, T0, reward_id="r1").after
    if redeemed:
        account = account.redeem(redeemed, T0, reference="o1").after
    account = account.claw_back(earned, T0, reward_id="r1").after
    assert (account.balance, account.debt) == (0, redeemed)

    # When it earns again
    posting = account.earn(later, T0, reward_id="r2")

    # Then the debt is repaid first, and only the rest reaches the balance
    repaid = min(redeemed, later)
    assert (posting.after.debt, posting.after.balance) == (redeemed - repaid, later - repaid)
    kinds = {e.kind: e.points for e in posting.entries}
    assert kinds["earned"] == later
    assert kinds.get("debt_repaid", 0) == repaid


def test_a_redemption_beyond_the_balance_is_refused_naming_points() -> None:
    account = PointsAccount(program_id="prg", customer_id=CUSTOMER, balance=10, earned=10)

    with pytest.raises(PointsShort) as refused:
        account.redeem(11, T0, reference="o1")

    assert [e.field for e in refused.value.errors] == ["points"]
    assert refused.value.status == 409


# --- the stored ledger, through the service and the points 'provider' ------------------


def _reward(reward_id: str, points: int, program_id: str) -> Reward:
    return Reward(
        reward_id=reward_id,
        referral_id=reward_id.split("-", maxsplit=1)[0],
        program_id=program_id,
        beneficiary="advocate",
        customer_id=CUSTOMER,
        advocate_id="adv-1",
        kind="points",
        amount=Decimal(points),
        currency="USD",
        points=points,
        status=RewardStatus.CONFIRMED,
        created_at=T0,
        updated_at=T0,
    )


class StoredLedger(RuleBasedStateMachine):
    """Earnings, redemptions and clawbacks on the stored ledger, against a plain model."""

    def __init__(self) -> None:
        super().__init__()
        self.table = MemoryTable()
        self.clock = FixedClock(T0)
        services = services_on(self.table, self.clock)
        body = program_body(point_value={"amount": "0.01", "currency": "USD"})
        body["rewards"]["advocate"] = {"kind": "points", "points": "10"}
        self.program_id = services.programs.create(
            ProgramCreate.model_validate(body).command()
        ).program_id
        self.points: PointsService = services.points
        self.payout = PointsPayout(PointsLedger(self.table))
        self.units = UnitOfWork(self.table)
        self.earned: dict[str, int] = {}
        self.net = 0
        self.count = 0

    def _commit(self, stage: object) -> None:
        changes = self.units.begin()
        stage(changes)  # type: ignore[operator]
        changes.commit()

    @rule(points=st.integers(1, 500))
    def earn(self, points: int) -> None:
        self.count += 1
        reward = _reward(f"ref{self.count}-advocate", points, self.program_id)
        self._commit(self.payout.paying(reward, self.clock.now()))
        self.earned[reward.reward_id] = points
        self.net += points

    @rule(points=st.integers(1, 500))
    def redeem(self, points: int) -> None:
        self.count += 1
        balance = self._account().balance
        try:
            self.points.redeem(CUSTOMER, RedeemPoints(self.program_id, points, f"o{self.count}"))
        except PointsShort:
            assert points > balance
            return
        assert points <= balance
        self.net -= points

    @precondition(lambda self: bool(self.earned))
    @rule(data=st.data())
    def claw_back(self, data: st.DataObject) -> None:
        reward_id = data.draw(st.sampled_from(sorted(self.earned)))
        points = self.earned.pop(reward_id)
        reward = _reward(reward_id, points, self.program_id)

        def stage(changes: object) -> None:
            self.payout.stage_claw_back([reward], self.clock.now(), within=changes)  # type: ignore[arg-type]

        self._commit(stage)
        self.net -= points

    @rule()
    def time_passes(self) -> None:
        self.clock.advance(timedelta(minutes=7))

    def _account(self) -> PointsAccount:
        statement, _ = self.points.statement(CUSTOMER, self.program_id, limit=1, cursor=None)
        return statement.account

    @invariant()
    def the_stored_account_keeps_the_invariants(self) -> None:
        account = self._account()
        _holds(account)
        assert account.balance - account.debt == self.net

    @invariant()
    def the_history_adds_up_to_the_account(self) -> None:
        statement, _ = self.points.statement(CUSTOMER, self.program_id, limit=100, cursor=None)
        totals = dict.fromkeys(("earned", "redeemed", "clawed_back", "debt_repaid"), 0)
        for entry in statement.history:
            totals[entry.kind] += entry.points
        account = statement.account
        if len(statement.history) < 100:
            assert (totals["earned"], totals["redeemed"], totals["clawed_back"]) == (
                account.earned,
                account.redeemed,
                account.clawed_back,
            )


TestStoredLedger = StoredLedger.TestCase
TestStoredLedger.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


# --- redemptions --------------------------------------------------------------------------


@pytest.fixture
def funded() -> tuple[PointsService, str, MemoryTable]:
    """A service over a table where CUSTOMER holds 100 points in a program."""
    table = MemoryTable()
    services = services_on(table, FixedClock(T0))
    body = program_body(point_value={"amount": "0.01", "currency": "USD"})
    program_id = services.programs.create(ProgramCreate.model_validate(body).command()).program_id
    payout = PointsPayout(PointsLedger(table))
    changes = UnitOfWork(table).begin()
    payout.paying(_reward("seed-advocate", 100, program_id), T0)(changes)
    changes.commit()
    return services.points, program_id, table


def test_the_same_reference_again_returns_the_first_redemption(
    funded: tuple[PointsService, str, MemoryTable],
) -> None:
    points, program_id, _ = funded
    reference = unique("order")

    first, created = points.redeem(CUSTOMER, RedeemPoints(program_id, 30, reference))
    again, created_again = points.redeem(CUSTOMER, RedeemPoints(program_id, 30, reference))

    assert (created, created_again) == (True, False)
    assert again == first
    statement, _ = points.statement(CUSTOMER, program_id, limit=50, cursor=None)
    assert statement.account.balance == 70


def test_the_same_reference_with_other_points_is_a_conflict(
    funded: tuple[PointsService, str, MemoryTable],
) -> None:
    points, program_id, _ = funded
    reference = unique("order")
    points.redeem(CUSTOMER, RedeemPoints(program_id, 30, reference))

    with pytest.raises(Conflict):
        points.redeem(CUSTOMER, RedeemPoints(program_id, 31, reference))


def test_a_redemption_in_an_unknown_program_is_not_found(
    funded: tuple[PointsService, str, MemoryTable],
) -> None:
    points, _, _ = funded

    with pytest.raises(NotFound):
        points.redeem(CUSTOMER, RedeemPoints("prg_nope", 1, unique("order")))


def test_two_concurrent_redemptions_beyond_the_balance_take_only_one(
    funded: tuple[PointsService, str, MemoryTable],
) -> None:
    # Given 100 points and two redemptions of 60 arriving together
    points, program_id, _ = funded
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def redeem(reference: str) -> None:
        start.wait()
        try:
            points.redeem(CUSTOMER, RedeemPoints(program_id, 60, reference))
            outcomes.append("redeemed")
        except PointsShort:
            outcomes.append("short")

    threads = [threading.Thread(target=redeem, args=(unique("order"),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then one is taken, the other refused, and the balance never went below zero
    assert sorted(outcomes) == ["redeemed", "short"]
    statement, _ = points.statement(CUSTOMER, program_id, limit=50, cursor=None)
    assert (statement.account.balance, statement.account.redeemed) == (40, 60)


def test_many_concurrent_redemptions_never_overdraw(
    funded: tuple[PointsService, str, MemoryTable],
) -> None:
    points, program_id, _ = funded
    start = threading.Barrier(6)

    def redeem(reference: str) -> None:
        start.wait()
        with contextlib.suppress(PointsShort):
            points.redeem(CUSTOMER, RedeemPoints(program_id, 30, reference))

    threads = [threading.Thread(target=redeem, args=(unique("order"),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statement, _ = points.statement(CUSTOMER, program_id, limit=50, cursor=None)
    assert (statement.account.balance, statement.account.redeemed) == (10, 90)
    assert [e.kind for e in statement.history].count("redeemed") == 3


def test_history_is_paged_newest_first(funded: tuple[PointsService, str, MemoryTable]) -> None:
    points, program_id, _ = funded
    for n in range(5):
        points.redeem(CUSTOMER, RedeemPoints(program_id, 1, f"order-{n}"))

    first, cursor = points.statement(CUSTOMER, program_id, limit=4, cursor=None)
    rest, end = points.statement(CUSTOMER, program_id, limit=4, cursor=cursor)

    references = [e.reference for e in first.history + rest.history]
    assert references == ["order-4", "order-3", "order-2", "order-1", "order-0", None]
    assert cursor is not None and end is None
