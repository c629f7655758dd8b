"""The reward ledger on DynamoDB (moto): conditional writes, the release transaction, and
the whole release -> fulfil -> refund -> reconcile path through the real handlers."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.clock import FixedClock
from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import Reward, RewardStatus
from shared.payouts.sandbox import SandboxCashProvider, SandboxGiftCardProvider
from shared.payouts.sandbox_faults import FaultPlan
from shared.repositories.rewards import RewardRepository, StaleReward
from shared.storage.dynamo_table import DynamoTable
from shared.storage.table import ConditionFailed
from tests.integration.conftest import (
    FakeContext,
    approved_in_functions_table,
    create_table,
    load_handler,
)
from tests.unit.rewards.conftest import World

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def world() -> World:
    """A fresh table per test: the status and all-entries partitions are table-wide."""
    name = f"rewards-{uuid.uuid4().hex[:8]}"
    create_table(name)
    clock = FixedClock(datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    return World(
        table=DynamoTable(name),  # type: ignore[arg-type]
        clock=clock,
        queue=MemoryRewardQueue(),
        gift_faults=FaultPlan.none(),
        cash_faults=FaultPlan.none(),
        providers={
            "gift_card": SandboxGiftCardProvider(clock=clock),
            "cash": SandboxCashProvider(clock=clock),
        },
    )


def _reward(referral_id: str = "ref_x") -> Reward:
    at = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    return Reward(
        reward_id=f"{referral_id}-advocate",
        referral_id=referral_id,
        program_id="prg_x",
        beneficiary="advocate",
        customer_id="c1",
        advocate_id="adv_x",
        kind="gift_card",
        amount=Decimal("10.00"),
        currency="USD",
        status=RewardStatus.CREATED,
        created_at=at,
        updated_at=at,
    )


def test_an_entry_is_created_once(world: World) -> None:
    repo = RewardRepository(world.table)
    reward = _reward(f"ref_{uuid.uuid4().hex[:8]}")
    world.table.write([repo.create_op(reward)])

    with pytest.raises(ConditionFailed):
        world.table.write([repo.create_op(reward)])


def test_a_stale_write_is_refused_and_the_fresh_one_lands(world: World) -> None:
    repo = RewardRepository(world.table)
    reward = _reward(f"ref_{uuid.uuid4().hex[:8]}")
    world.table.write([repo.create_op(reward)])
    queued = reward.moved(RewardStatus.QUEUED, reward.updated_at + timedelta(seconds=1))
    repo.save(queued, reward.version)

    with pytest.raises(StaleReward):
        repo.save(reward.moved(RewardStatus.CANCELLED, reward.updated_at), reward.version)
    stored = repo.get(reward.referral_id, reward.reward_id)
    assert stored is not None and stored.status == RewardStatus.QUEUED
    listed, _ = repo.with_status(RewardStatus.QUEUED)
    assert [r.reward_id for r in listed] == [reward.reward_id]


def test_release_commits_one_transaction_and_refuses_past_the_budget(world: World) -> None:
    program_id = world.program(budget={"amount": "25.00", "currency": "USD"})
    _, code = world.advocate(program_id)
    first, second = world.approved(program_id, code), world.approved(program_id, code)

    report = world.release.run()

    assert report.released == [first] and report.held == {second: "budget_exhausted"}
    assert world.budget_left(program_id) == Decimal("5.00")
    assert world.status(second) == ReferralStatus.HOLDING


class OneCallAtATime:
    """moto's in-process DynamoDB is not thread-safe (a transaction deep-copies tables that
    another thread is changing). Each API call is atomic on DynamoDB; this makes it atomic on
    moto too, while calls from different threads still interleave freely between each other."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call


def test_parallel_releases_on_dynamodb_never_overspend(world: World) -> None:
    table = world.table
    assert isinstance(table, DynamoTable)
    world.release = world.services(
        table=DynamoTable(table.table_name, client=OneCallAtATime(boto3.client("dynamodb")))
    ).release
    # Given eight approved referrals of two advocates at $20 each, under a $90 budget
    program_id = world.program(budget={"amount": "90.00", "currency": "USD"}, tiers=[])
    codes = [world.advocate(program_id)[1] for _ in range(2)]
    referral_ids = [world.approved(program_id, codes[i % 2]) for i in range(8)]

    # When four threads release them at once

    threads = [
        threading.Thread(
            target=lambda ids: [world.release.release(r) for r in ids], args=(referral_ids[i::4],)
        )
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then four are paid for, $10 is left, and the ledger matches the budget
    spent = sum((r.amount for rid in referral_ids for r in world.rewards(rid)), Decimal(0))
    assert spent == Decimal("80.00")
    assert world.budget_left(program_id) == Decimal("10.00")


def test_refund_after_payout_and_reconcile_on_dynamodb(world: World) -> None:
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    world.drain()
    assert world.status(referral_id) == ReferralStatus.REWARDED

    world.later(hours=1)
    world.refund(referral_id, world.order_of(referral_id), "45.00")
    report = world.reconcile.run(world.clock.now() + timedelta(hours=1))

    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.CLAWED_BACK}
    assert report.clean and report.provider_orders_seen == 2


# --- the functions themselves, on moto's DynamoDB and SQS ---


class MinuteContext(FakeContext):
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _sqs_event(messages: list[dict[str, Any]], arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def test_release_and_fulfilment_handlers_pay_through_sqs(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import wiring

    sqs = boto3.client("sqs")
    urls = {
        kind: sqs.create_queue(QueueName=f"{kind}-{uuid.uuid4().hex[:6]}")["QueueUrl"]
        for kind in ("gift_card", "cash")
    }
    monkeypatch.setenv("GIFT_CARD_QUEUE_URL", urls["gift_card"])
    monkeypatch.setenv("CASH_QUEUE_URL", urls["cash"])
    wiring.reset()
    try:
        # Given an approved referral in the session table
        clock = FixedClock(datetime.now(UTC))
        helper, referral_id = approved_in_functions_table(clock)

        # When the scheduled release runs, then each queue's function gets its messages
        release = load_handler("release")
        summary = release.lambda_handler(
            {"time": (clock.now() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
            FakeContext(),
        )
        assert summary["released"] >= 1
        for kind, function in (("gift_card", "fulfil_gift_card"), ("cash", "fulfil_cash")):
            received = sqs.receive_message(QueueUrl=urls[kind], MaxNumberOfMessages=10)
            messages = [
                m
                for m in received.get("Messages", [])
                if referral_id in json.loads(m["Body"])["referral_id"]
            ]
            assert messages, kind
            arn = sqs.get_queue_attributes(QueueUrl=urls[kind], AttributeNames=["QueueArn"])
            response = load_handler(function).lambda_handler(
                _sqs_event(messages, arn["Attributes"]["QueueArn"]), MinuteContext()
            )
            assert response == {"batchItemFailures": []}

        # Then the referral is rewarded and both entries confirmed
        assert helper.status(referral_id) == ReferralStatus.REWARDED
        assert {r.status for r in helper.rewards(referral_id)} == {RewardStatus.CONFIRMED}
    finally:
        wiring.reset()
