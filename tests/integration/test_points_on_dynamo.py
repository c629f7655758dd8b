"""The points ledger on DynamoDB (moto): a points entry delivered many times at once
credits once, and redemptions racing past the balance take only what is there."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import boto3
import pytest

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.clock import FixedClock
from shared.domain.points import PointsShort, RedeemPoints
from shared.domain.rewards import RewardStatus
from shared.payouts.sandbox import SandboxCashProvider, SandboxGiftCardProvider
from shared.payouts.sandbox_faults import FaultPlan
from shared.storage.dynamo_table import DynamoTable
from tests.integration.conftest import create_table
from tests.integration.test_reward_ledger_on_dynamo import OneCallAtATime
from tests.unit.rewards.conftest import World

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def world() -> World:
    name = f"points-{uuid.uuid4().hex[:8]}"
    create_table(name)
    clock = FixedClock(datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    table = DynamoTable(name, client=OneCallAtATime(boto3.client("dynamodb")))
    return World(
        table=table,  # type: ignore[arg-type]
        clock=clock,
        queue=MemoryRewardQueue(),
        gift_faults=FaultPlan.none(),
        cash_faults=FaultPlan.none(),
        providers={
            "gift_card": SandboxGiftCardProvider(clock=clock),
            "cash": SandboxCashProvider(clock=clock),
        },
    )


def _run_together(target: object, args: list[tuple[object, ...]]) -> None:
    start = threading.Barrier(len(args))

    def run(*a: object) -> None:
        start.wait()
        target(*a)  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=a) for a in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_deliveries_of_a_points_entry_credit_once_on_dynamodb(world: World) -> None:
    # Given a released referral whose advocate earns 300 points
    program_id = world.program(
        rewards={"advocate": {"kind": "points", "points": "300"}},
        tiers=[],
        point_value={"amount": "0.01", "currency": "USD"},
    )
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    ((_, message),) = world.queue.take()

    # When six deliveries of its message run at once
    _run_together(world.deliver, [(message,)] * 6)

    # Then the entry is confirmed and the ledger credited once
    (entry,) = world.rewards(referral_id)
    assert entry.status == RewardStatus.CONFIRMED
    points = world.services().points
    statement, _ = points.statement(entry.customer_id, program_id, limit=50, cursor=None)
    assert statement.account.balance == 300
    assert [e.kind for e in statement.history] == ["earned"]

    # And two redemptions of 200 racing each other take only one
    outcomes: list[str] = []

    def redeem(reference: str) -> None:
        try:
            points.redeem(entry.customer_id, RedeemPoints(program_id, 200, reference))
            outcomes.append("redeemed")
        except PointsShort:
            outcomes.append("short")

    _run_together(redeem, [("order-a",), ("order-b",)])

    assert sorted(outcomes) == ["redeemed", "short"]
    statement, _ = points.statement(entry.customer_id, program_id, limit=50, cursor=None)
    assert (statement.account.balance, statement.account.redeemed) == (100, 200)
