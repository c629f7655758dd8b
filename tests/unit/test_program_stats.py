"""Program stats from the writers' counters, on a small fixture with known figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.clock import FixedClock
from shared.errors import NotFound
from shared.repositories import keys
from shared.repositories.stats import Counter, ProgramCounters, paid_amount, paid_count
from shared.schemas.reviews import ProgramStatsOut
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Update
from tests.finance_support import Intake, services_on
from tests.support import T0


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


def _program_with_history(table: MemoryTable) -> str:
    """10 referrals, 4 qualified, 2 flagged, 3 rejected (one reopened: net 2), two referrals
    paid out after 1 and 3 days, gift cards 30.00 and cash 10.00, 40.00 of budget used."""
    program_id = Intake(table, FixedClock(T0)).program()
    day = 86_400
    writes = [
        {Counter.REFERRALS: 6},
        {Counter.REFERRALS: 4, Counter.QUALIFIED: 4},
        {Counter.FLAGGED: 2, Counter.REJECTED: 3},
        {Counter.REJECTED: -1},
        {Counter.PAYOUTS: 1, Counter.PAYOUT_SECONDS: 1 * day},
        {Counter.PAYOUTS: 1, Counter.PAYOUT_SECONDS: 3 * day},
        {paid_amount("gift_card"): Decimal("30.00"), paid_count("gift_card"): 2},
        {paid_amount("cash"): Decimal("10.00"), paid_count("cash"): 1},
    ]
    for shard, deltas in enumerate(writes):
        table.write([ProgramCounters.add_op(program_id, deltas, shard=shard)])
    pk, sk = keys.program(program_id)
    table.write(
        [Update(pk, sk, add={"budget_used": Decimal("40.00"), "budget_left": Decimal("-40.00")})]
    )
    return program_id


def test_stats_sum_the_counter_shards(table: MemoryTable) -> None:
    program_id = _program_with_history(table)

    stats = services_on(table, FixedClock(T0)).stats.for_program(program_id)

    assert (stats.referrals, stats.qualified, stats.flagged, stats.rejected) == (10, 4, 2, 2)
    assert stats.conversion_rate == Decimal("0.4000")
    assert stats.fraud_rate == Decimal("0.2000")
    assert stats.mean_seconds_to_payout == Decimal(2 * 86_400)
    assert {(p.kind, p.count, p.amount) for p in stats.paid} == {
        ("gift_card", 2, Decimal("30.00")),
        ("cash", 1, Decimal("10.00")),
        ("points", 0, Decimal(0)),
    }
    assert stats.paid_total == Decimal("40.00")


def test_stats_response_shows_money_as_strings_and_rates_as_numbers(table: MemoryTable) -> None:
    program_id = _program_with_history(table)

    out = ProgramStatsOut.of(
        services_on(table, FixedClock(T0)).stats.for_program(program_id)
    ).model_dump(mode="json")

    assert out["budget_used"] == {"amount": "40.00", "currency": "USD"}
    assert out["budget_left"] == {"amount": "4960.00", "currency": "USD"}
    assert out["rewards_paid_total"] == {"amount": "40.00", "currency": "USD"}
    assert out["conversion_rate"] == 0.4 and out["fraud_rate"] == 0.2
    assert out["mean_time_to_payout_seconds"] == 172_800
    assert out["qualifying_conversions"] == 4


def test_a_program_without_activity_has_zero_counts_and_no_rates(table: MemoryTable) -> None:
    program_id = Intake(table, FixedClock(T0)).program()

    stats = services_on(table, FixedClock(T0)).stats.for_program(program_id)

    assert stats.referrals == 0 and stats.conversion_rate is None
    assert stats.fraud_rate is None and stats.mean_seconds_to_payout is None


def test_stats_of_an_unknown_program_are_not_found(table: MemoryTable) -> None:
    with pytest.raises(NotFound):
        services_on(table, FixedClock(T0)).stats.for_program("prg_unknown")


def test_counters_spread_over_at_most_the_configured_shards(table: MemoryTable) -> None:
    program_id = Intake(table, FixedClock(T0)).program()
    for _ in range(200):
        table.write([ProgramCounters.add_op(program_id, {Counter.REFERRALS: 1})])

    stored = (table.get(*keys.program_stats(program_id, n)) for n in range(keys.STATS_SHARDS))
    shards = [item for item in stored if item is not None]

    assert 1 < len(shards) <= keys.STATS_SHARDS
    assert services_on(table, FixedClock(T0)).stats.for_program(program_id).referrals == 200
