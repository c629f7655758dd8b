"""Incentive variants through the money path: an advocate keeps the variant it enrolled
with, a release pays that variant's rewards within the same budget, cap and exactly-once
machinery, and the program's stats count each variant from its own counters."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import RewardStatus
from shared.errors import InvalidRequest
from shared.repositories import keys
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramUpdate
from shared.schemas.referrals import EventCreate, ReferralCreate
from shared.schemas.reviews import ProgramStatsOut
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Item, Put, WriteOp
from tests.support import advocate_body, purchase_body, referral_body, unique
from tests.unit.rewards.conftest import World


def reward(amount: str) -> dict[str, str]:
    return {"kind": "gift_card", "amount": amount, "currency": "USD"}


def cash(amount: str) -> dict[str, str]:
    return {"kind": "cash", "amount": amount, "currency": "USD"}


def variant(name: str, amount: str, weight: int = 1) -> dict[str, Any]:
    return {
        "name": name,
        "weight": weight,
        "rewards": {"advocate": reward(amount), "referee": cash(amount)},
    }


TWO_ARMS = [variant("10 off", "10.00"), variant("15 off", "15.00")]


def enrol_on(
    world: World, program_id: str, wanted: str, tally: Counter[str] | None = None
) -> tuple[str, str]:
    """Enrol advocates until one is assigned `wanted` (assignment is by hash, not by call),
    counting in `tally` every variant assigned on the way."""
    for _ in range(200):
        enrolment = world.advocates.enrol(
            program_id, AdvocateEnrol.model_validate(advocate_body()).command()
        )
        if tally is not None:
            tally[enrolment.advocate.variant] += 1
        if enrolment.advocate.variant == wanted:
            return enrolment.advocate.advocate_id, enrolment.advocate.referral_code
    raise AssertionError(f"no advocate was assigned {wanted}")


def test_a_release_pays_the_rewards_of_the_advocates_variant(world: World) -> None:
    # Given a two-variant experiment and an approved referral from an advocate on each
    program_id = world.program(variants=TWO_ARMS, tiers=[])
    _, code_10 = enrol_on(world, program_id, "10 off")
    _, code_15 = enrol_on(world, program_id, "15 off")
    on_10 = world.approved(program_id, code_10)
    on_15 = world.approved(program_id, code_15)

    # When the release job runs
    report = world.release.run()

    # Then each referral's rewards are its variant's, recorded with the variant, and the
    # budget paid for both
    assert sorted(report.released) == sorted([on_10, on_15])
    assert {(r.beneficiary, r.amount, r.variant) for r in world.rewards(on_10)} == {
        ("advocate", Decimal("10.00"), "10 off"),
        ("referee", Decimal("10.00"), "10 off"),
    }
    assert {(r.beneficiary, r.amount, r.variant) for r in world.rewards(on_15)} == {
        ("advocate", Decimal("15.00"), "15 off"),
        ("referee", Decimal("15.00"), "15 off"),
    }
    referral = world.referral_repo.get(on_15)
    assert referral is not None and referral.variant == "15 off"
    assert world.budget_left(program_id) == Decimal("4950.00")


def test_an_enrolled_advocate_keeps_its_variant_when_the_weights_change(world: World) -> None:
    # Given advocates enrolled on an even split
    program_id = world.program(variants=TWO_ARMS)
    advocate_id, _ = enrol_on(world, program_id, "15 off")

    # When the weights move nearly everything to the other variant
    change = ProgramUpdate.model_validate(
        {"variants": [variant("10 off", "10.00", 1000), variant("15 off", "15.00", 1)]}
    ).command()
    world.programs.update(program_id, change)

    # Then the enrolled advocate is still on its variant (enrolling again changes nothing),
    # while new advocates follow the new weights
    stored = world.advocate_repo.get(advocate_id)
    assert stored is not None and stored.variant == "15 off"
    again = world.advocates.enrol(
        program_id,
        AdvocateEnrol.model_validate(advocate_body(stored.customer_id)).command(),
    )
    assert (again.created, again.advocate.variant) == (False, "15 off")
    newcomers = [
        world.advocates.enrol(
            program_id, AdvocateEnrol.model_validate(advocate_body()).command()
        ).advocate.variant
        for _ in range(30)
    ]
    assert newcomers.count("10 off") >= 28


def test_advocates_enrolled_before_the_variants_stay_on_default(world: World) -> None:
    # Given an advocate enrolled while the program had no variants
    program_id = world.program(tiers=[])
    advocate_id, code = world.advocate(program_id)

    # When an experiment starts and the earlier advocate's referral is released
    change = ProgramUpdate.model_validate({"variants": [variant("25 off", "25.00")]}).command()
    world.programs.update(program_id, change)
    referral_id = world.approved(program_id, code)
    world.release.run()

    # Then the advocate is on default and paid the program's own rewards
    stored = world.advocate_repo.get(advocate_id)
    assert stored is not None and stored.variant == "default"
    assert {(r.amount, r.variant) for r in world.rewards(referral_id)} == {
        (Decimal("10.00"), "default")
    }


def test_a_retired_variant_still_pays_its_advocates_its_rewards(world: World) -> None:
    # Given an advocate on "15 off"
    program_id = world.program(variants=TWO_ARMS, tiers=[])
    _, code = enrol_on(world, program_id, "15 off")

    # When an update leaves "15 off" out and the advocate's referral is released
    change = ProgramUpdate.model_validate({"variants": [variant("10 off", "10.00")]}).command()
    world.programs.update(program_id, change)
    referral_id = world.approved(program_id, code)
    world.release.run()

    # Then it is paid what "15 off" promised
    assert {r.amount for r in world.rewards(referral_id)} == {Decimal("15.00")}


def test_the_code_check_shows_the_referee_reward_of_the_advocates_variant(world: World) -> None:
    program_id = world.program(variants=TWO_ARMS)
    _, code = enrol_on(world, program_id, "15 off")

    check = world.programs.check_code(program_id, code)

    assert check.referee_reward is not None
    assert (check.referee_reward.kind, check.referee_reward.amount) == ("cash", Decimal("15.00"))


def test_parallel_releases_of_variant_referrals_never_overspend_the_budget(world: World) -> None:
    # Given 12 approved "15 off" referrals at $30 each under a $200 budget (room for six)
    program_id = world.program(
        variants=TWO_ARMS, tiers=[], budget={"amount": "200.00", "currency": "USD"}
    )
    referral_ids = []
    for _ in range(12):
        _, code = enrol_on(world, program_id, "15 off")
        referral_ids.append(world.approved(program_id, code))

    # When six threads release them at once
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(ids: list[str]) -> None:
        for referral_id in ids:
            result = world.release.release(referral_id).result
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(referral_ids[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly six are released at the variant's amounts and $20 is left
    assert outcomes.count("released") == 6
    assert world.budget_left(program_id) == Decimal("20.00")
    created = [r for rid in referral_ids for r in world.rewards(rid)]
    assert {r.amount for r in created} == {Decimal("15.00")} and len(created) == 12


def test_a_variant_reward_delivered_five_times_is_paid_and_counted_once(world: World) -> None:
    # Given a released "15 off" referral
    program_id = world.program(variants=TWO_ARMS, tiers=[])
    _, code = enrol_on(world, program_id, "15 off")
    referral_id = world.approved(program_id, code)
    world.release.run()
    batch = world.queue.take()

    # When every message is delivered five times
    for _ in range(5):
        for _kind, message in batch:
            world.deliver(message)

    # Then each reward is confirmed, one provider order each, and the variant's cost is $30
    assert {r.status for r in world.rewards(referral_id)} == {RewardStatus.CONFIRMED}
    assert sorted(o.amount for o in world.paid_orders()) == [Decimal("15.00")] * 2
    stats = world.services().stats.for_program(program_id)
    on_15 = next(v for v in stats.variants if v.name == "15 off")
    assert on_15.reward_cost == Decimal("30.00")


def scored(world: World, program_id: str, code: str, n: int) -> str:
    """A referral from its own network, qualified, then scored by the scoring service."""
    context = {"ip": f"100.{64 + n}.7.1", "device_id": unique("dev"), "country": "US"}
    body = referral_body(program_id, code, context=context)
    referral = world.intake.create(ReferralCreate.model_validate(body).command())
    world.events.record(referral.referral_id, EventCreate.model_validate(purchase_body()).command())
    world.later(hours=1)
    world.services().scoring.score(referral.referral_id, "test", world.clock.now())
    assert world.status(referral.referral_id) == ReferralStatus.HOLDING
    return referral.referral_id


def _experiment(world: World, tally: Counter[str] | None = None) -> str:
    """Two variants: "10 off" with 4 referrals, 3 converted and paid; "15 off" with 4
    referrals, 2 converted and paid, one of them later refunded (reversed), plus one
    self-referral (rejected at intake)."""
    program_id = world.program(variants=TWO_ARMS, tiers=[])
    _, code_10 = enrol_on(world, program_id, "10 off", tally)
    advocate_15, code_15 = enrol_on(world, program_id, "15 off", tally)
    for n in range(3):
        scored(world, program_id, code_10, n)
    world.intake.create(ReferralCreate.model_validate(referral_body(program_id, code_10)).command())
    paid_15 = [scored(world, program_id, code_15, n) for n in range(3, 5)]
    world.intake.create(ReferralCreate.model_validate(referral_body(program_id, code_15)).command())
    advocate = world.advocate_repo.get(advocate_15)
    assert advocate is not None
    self_referral = referral_body(
        program_id,
        code_15,
        referee={"customer_id": advocate.customer_id, "email": "me@example.com"},
    )
    world.intake.create(ReferralCreate.model_validate(self_referral).command())
    world.release.run()
    world.drain()
    world.refund(paid_15[0], world.order_of(paid_15[0]), "45.00")
    return program_id


def test_stats_count_each_variant_from_its_own_figures(world: World) -> None:
    # Given the experiment above
    enrolled: Counter[str] = Counter()
    program_id = _experiment(world, enrolled)

    # When the stats are read
    stats = world.services().stats.for_program(program_id)

    # Then each variant has its own advocates, referrals, conversions, cost and fraud rate
    by_name = {v.name: v for v in stats.variants}
    assert list(by_name) == ["10 off", "15 off"]
    on_10, on_15 = by_name["10 off"], by_name["15 off"]
    assert (on_10.advocates, on_10.referrals, on_10.conversions) == (enrolled["10 off"], 4, 3)
    assert (on_15.advocates, on_15.referrals, on_15.conversions) == (enrolled["15 off"], 4, 2)
    assert on_10.reward_cost_per_conversion == Decimal("20.00")
    # "15 off" paid 2 x $30 and clawed one back: $30 over 2 conversions
    assert on_15.reward_cost_per_conversion == Decimal("15.00")
    assert (on_10.scored, on_10.fraud_rate) == (3, 0.0)
    # scored: 2 approved and the self-referral; rejected 1 and reversed 1
    assert (on_15.scored, on_15.rejected, on_15.reversed) == (3, 1, 1)
    assert on_15.fraud_rate == 2 / 3
    # And the comparison puts the higher conversion rate first
    assert stats.comparison is not None
    assert (stats.comparison.leader, stats.comparison.runner_up) == ("10 off", "15 off")
    # The program's own figures are the sums (and "default", with no advocates, is absent)
    assert stats.referrals == 8 and stats.qualified == 5


def test_stats_response_shows_each_variant_with_its_interval_and_the_comparison(
    world: World,
) -> None:
    program_id = _experiment(world)

    out = ProgramStatsOut.of(world.services().stats.for_program(program_id)).model_dump(mode="json")

    first = out["variants"][0]
    assert first["name"] == "10 off" and first["conversion_rate"] == 0.75
    low, high = first["conversion_rate_interval"]
    assert 0 <= low <= 0.75 <= high <= 1
    assert first["reward_cost_per_conversion"] == {"amount": "20.00", "currency": "USD"}
    assert out["variants"][1]["fraud_rate"] == 0.6667
    comparison = out["comparison"]
    assert set(comparison) == {"leader", "runner_up", "z", "p_value", "significant"}
    assert comparison["significant"] is False and 0 < comparison["p_value"] <= 1


def test_default_appears_in_the_stats_once_it_has_advocates(world: World) -> None:
    # Given an advocate enrolled before the program's experiment began
    program_id = world.program()
    world.advocate(program_id)
    change = ProgramUpdate.model_validate({"variants": TWO_ARMS}).command()
    world.programs.update(program_id, change)

    stats = world.services().stats.for_program(program_id)

    assert [(v.name, v.advocates) for v in stats.variants] == [
        ("10 off", 0),
        ("15 off", 0),
        ("default", 1),
    ]
    assert stats.comparison is None


class CountingTable(MemoryTable):
    """A MemoryTable that counts the reads made of it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        self.reads += 1
        return super().get(pk, sk, consistent=consistent)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return super().query(*args, **kwargs)


def test_reading_the_variant_stats_costs_the_same_however_many_referrals(world: World) -> None:
    # Given a program with an experiment and 10, then 30 referrals
    counting = CountingTable()
    busy = World(
        table=counting,
        clock=world.clock,
        queue=world.queue,
        gift_faults=world.gift_faults,
        cash_faults=world.cash_faults,
        providers=world.providers,
    )
    program_id = busy.program(variants=TWO_ARMS)
    _, code = busy.advocate(program_id)

    def reads_of_stats() -> int:
        before = counting.reads
        busy.services().stats.for_program(program_id)
        return counting.reads - before

    for _ in range(10):
        busy.qualified(program_id, code)
    few = reads_of_stats()
    for _ in range(20):
        busy.qualified(program_id, code)

    # Then the stats read the program and the counter shards, nothing per referral
    assert reads_of_stats() == few <= keys.STATS_SHARDS + 1


class OneWritePerItemTable(MemoryTable):
    """A MemoryTable that refuses, as DynamoDB does, a transaction touching one item twice;
    a program's counter shards count as one item, since each write picks one at random."""

    def write(self, ops: Sequence[WriteOp]) -> None:
        written = [_item_of(op) for op in ops]
        assert len(set(written)) == len(written), written
        super().write(ops)


def _item_of(op: WriteOp) -> tuple[str, str]:
    pk, sk = (str(op.item["pk"]), str(op.item["sk"])) if isinstance(op, Put) else (op.pk, op.sk)
    return (pk.split("#STATS#")[0], "STATS") if sk == "STATS" else (pk, sk)


def test_no_change_of_the_experiment_writes_one_counter_shard_twice(world: World) -> None:
    # Given the experiment's whole money path (a refund of a paid, scored referral among
    # it) on a table that refuses two writes to one item in a transaction
    strict = World(
        table=OneWritePerItemTable(),
        clock=world.clock,
        queue=world.queue,
        gift_faults=world.gift_faults,
        cash_faults=world.cash_faults,
        providers=world.providers,
    )

    # When it runs, then every transaction passed, and the refund still counted
    program_id = _experiment(strict)
    stats = strict.services().stats.for_program(program_id)
    assert next(v for v in stats.variants if v.name == "15 off").reversed == 1


def test_retiring_every_variant_puts_new_advocates_back_on_default(world: World) -> None:
    # Given an experiment with an advocate on "15 off"
    program_id = world.program(variants=TWO_ARMS, tiers=[])
    _, code = enrol_on(world, program_id, "15 off")

    # When an update retires every variant
    world.programs.update(program_id, ProgramUpdate.model_validate({"variants": []}).command())

    # Then a new advocate is on default, and the earlier one is still paid "15 off"
    newcomer = world.advocates.enrol(
        program_id, AdvocateEnrol.model_validate(advocate_body()).command()
    )
    assert newcomer.advocate.variant == "default"
    referral_id = world.approved(program_id, code)
    world.release.run()
    assert {r.amount for r in world.rewards(referral_id)} == {Decimal("15.00")}


POINTS_ARM = {
    "name": "points",
    "weight": 1,
    "rewards": {"advocate": {"kind": "points", "points": "500"}},
}


def test_a_points_variant_added_by_an_update_is_priced_at_the_programs_point_value(
    world: World,
) -> None:
    # Given a program whose points are worth 0.02 USD each
    program_id = world.program(tiers=[], point_value={"amount": "0.02", "currency": "USD"})

    # When an update adds a variant that rewards the advocate 500 points
    change = ProgramUpdate.model_validate({"variants": [POINTS_ARM]}).command()
    updated = world.programs.update(program_id, change)

    # Then the variant's advocate reward is 500 points worth 10.00 USD
    terms = updated.rewards_of("points")[0]
    assert terms is not None
    assert (terms.kind, terms.points, terms.amount, terms.currency) == (
        "points",
        500,
        Decimal("10.00"),
        "USD",
    )


def test_a_points_variant_is_refused_on_a_program_without_a_point_value(world: World) -> None:
    # Given a program that never priced points
    program_id = world.program(tiers=[])

    # When an update adds a points variant
    change = ProgramUpdate.model_validate({"variants": [POINTS_ARM]}).command()

    # Then it is refused naming the variant's reward, and the program keeps no variant
    try:
        world.programs.update(program_id, change)
    except InvalidRequest as exc:
        assert [e.field for e in exc.errors] == ["variants.0.rewards.advocate.kind"]
    else:
        raise AssertionError("a points variant without a point_value was accepted")
    assert world.programs.get(program_id).variants == []
