"""What is refunded of an order is one conditional running total: concurrent partial refunds
can never together exceed the order, the refund that takes what is left below the minimum
reverses the referral, and a refund is identified by its `refund_id`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.referrals import ReferralStatus
from shared.domain.reward_commands import RecordRefund
from shared.errors import Conflict, InvalidRequest
from shared.schemas.rewards import RefundCreate
from shared.services.refunds import RefundOutcome
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Put, WriteOp
from tests.unit.rewards.conftest import World, WorldFactory

ORDER = Decimal("45.00")
MINIMUM = Decimal("20.00")


class MeetBeforeWriting:
    """A table that holds the first refund write of each of `parties` callers until all of
    them have read: the interleaving in which both read the earlier refunds first."""

    def __init__(self, inner: MemoryTable, parties: int) -> None:
        self._inner = inner
        self._barrier = threading.Barrier(parties, timeout=5)
        self._waited: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def write(self, ops: Sequence[WriteOp]) -> None:
        refund = any(isinstance(op, Put) and op.item.get("type") == "refund" for op in ops)
        me = threading.get_ident()
        if refund and me not in self._waited:
            self._waited.add(me)
            self._barrier.wait()
        self._inner.write(ops)


def _referral(world: World) -> str:
    program_id = world.program(min_order_value=f"{MINIMUM}")
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code, amount=f"{ORDER}")
    world.release.run()
    return referral_id


def _body(world: World, referral_id: str, amount: str, **extra: str) -> RecordRefund:
    body = {"order_id": world.order_of(referral_id), "amount": amount, "currency": "USD"}
    return RefundCreate.model_validate({**body, **extra}).command()


def _at(world: World, seconds: int) -> str:
    """Distinct refunds of one amount: a second apart."""
    return (world.clock.now() + timedelta(seconds=seconds)).isoformat()


def _concurrently(world: World, referral_id: str, bodies: list[RecordRefund]) -> list[Any]:
    service = world.services(table=MeetBeforeWriting(world.table, len(bodies))).refunds
    results: list[Any] = [None] * len(bodies)

    def refund(i: int) -> None:
        try:
            results[i] = service.record(referral_id, bodies[i])
        except (InvalidRequest, Conflict) as exc:
            results[i] = exc

    threads = [threading.Thread(target=refund, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_concurrent_partial_refunds_reverse_the_referral_once_below_the_minimum(
    world: World,
) -> None:
    # Given a 45.00 order and a 20.00 minimum
    referral_id = _referral(world)

    # When two refunds of 20.00 both read the earlier refunds before either writes
    results = _concurrently(
        world,
        referral_id,
        [_body(world, referral_id, "20.00", occurred_at=_at(world, i)) for i in (1, 2)],
    )

    # Then both are recorded, one after the other: 25.00 left, then 5.00 left and reversed
    assert all(isinstance(r, RefundOutcome) for r in results), results
    left = sorted(r.record.order_amount_left for r in results)
    assert left == [Decimal("5.00"), Decimal("25.00")]
    assert [r.record.reversed for r in results if r.record.order_amount_left == 5] == [True]
    assert world.status(referral_id) == ReferralStatus.REVERSED


def test_two_concurrent_refunds_that_together_exceed_the_order_record_only_one(
    world: World,
) -> None:
    referral_id = _referral(world)

    results = _concurrently(
        world,
        referral_id,
        [_body(world, referral_id, "30.00", occurred_at=_at(world, i)) for i in (1, 2)],
    )

    recorded = [r for r in results if isinstance(r, RefundOutcome)]
    refused = [r for r in results if isinstance(r, InvalidRequest)]
    assert len(recorded) == 1 and len(refused) == 1
    assert refused[0].errors[0].field == "amount"


def test_two_identical_refunds_without_occurred_at_are_two_refunds(world: World) -> None:
    referral_id = _referral(world)

    first = world.refunds.record(referral_id, _body(world, referral_id, "5.00"))
    world.later(seconds=1)
    second = world.refunds.record(referral_id, _body(world, referral_id, "5.00"))

    assert not first.replayed and not second.replayed
    assert second.record.order_amount_left == Decimal("35.00")


def test_a_retry_with_the_same_refund_id_is_the_same_refund(world: World) -> None:
    referral_id = _referral(world)

    first = world.refunds.record(referral_id, _body(world, referral_id, "5.00", refund_id="rf-1"))
    world.later(seconds=1)
    again = world.refunds.record(referral_id, _body(world, referral_id, "5.00", refund_id="rf-1"))

    assert again.replayed and again.record == first.record
    assert again.record.order_amount_left == Decimal("40.00")


def test_two_refunds_with_different_ids_and_one_body_are_two(world: World) -> None:
    referral_id = _referral(world)
    at = {"occurred_at": world.clock.now().isoformat()}

    world.refunds.record(referral_id, _body(world, referral_id, "5.00", refund_id="a", **at))
    second = world.refunds.record(
        referral_id, _body(world, referral_id, "5.00", refund_id="b", **at)
    )

    assert not second.replayed and second.record.order_amount_left == Decimal("35.00")


def test_one_refund_id_for_another_amount_is_a_conflict(world: World) -> None:
    referral_id = _referral(world)
    world.refunds.record(referral_id, _body(world, referral_id, "5.00", refund_id="rf-1"))

    with pytest.raises(Conflict):
        world.refunds.record(referral_id, _body(world, referral_id, "6.00", refund_id="rf-1"))


cents = st.integers(min_value=1, max_value=5000)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amounts=st.lists(cents, min_size=1, max_size=6))
def test_refund_sequences_never_exceed_the_order_and_reverse_exactly_below_the_minimum(
    make_world: WorldFactory, amounts: list[int]
) -> None:
    # Given a fresh 45.00 order with a 20.00 minimum
    world = make_world()
    referral_id = _referral(world)
    refunded = Decimal(0)

    # When any sequence of refunds is reported
    for i, amount in enumerate(amounts):
        value = Decimal(amount) / 100
        try:
            outcome = world.refunds.record(
                referral_id, _body(world, referral_id, f"{value:.2f}", occurred_at=_at(world, i))
            )
        except InvalidRequest as exc:
            # Then a refund is refused exactly when it is more than what is left
            assert exc.errors[0].field == "amount"
            assert refunded + value > ORDER
            continue
        refunded += value
        assert outcome.record.order_amount_left == ORDER - refunded

    # Then the total never exceeds the order, and the referral is reversed exactly when
    # what is left of it is below the minimum
    assert refunded <= ORDER
    reversed_ = world.status(referral_id) == ReferralStatus.REVERSED
    assert reversed_ == (ORDER - refunded < MINIMUM)
