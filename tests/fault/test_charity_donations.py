"""Charity donations on the money path: a donation delivered more than once pays once,
and every fault the suite knows is survived on a donating program too."""

from __future__ import annotations

import pytest

from shared.domain.rewards import RewardStatus
from shared.storage.memory_table import MemoryTable
from tests.fault.proxies import InjectionPlan, Injector
from tests.fault.scenario import run_money_path
from tests.fault.world import FaultWorld

DONATING = {
    "rewards": {
        "advocate": {
            "kind": "charity_donation",
            "amount": "10.00",
            "currency": "USD",
            "charity": "save-the-children",
        },
        "referee": {"kind": "cash", "amount": "10.00", "currency": "USD"},
    },
    "tiers": [],
}


def _donating_world(plan: InjectionPlan | None = None) -> FaultWorld:
    return FaultWorld(MemoryTable(), Injector(plan), program_terms=DONATING)


def test_a_duplicate_delivery_of_a_donation_pays_once() -> None:
    # Given a donating program whose queue delivers every reward message five times over
    plan = InjectionPlan("RewardQueue.send_reward", "duplicate_x5", frozenset({1, 2, 3}), 0)
    world = _donating_world(plan)
    world.arrange_program()
    world.injector.armed = True
    referral_id, _ = world.refer_and_buy(world.arrange_advocate())
    world.deliver_scoring()

    # When the release queues the donation and everything settles
    world.run_release()
    world.quiesce()

    # Then the charity provider made one donation, and the entry is confirmed with it
    assert world.injector.injected >= 1
    orders = world.sandboxes["charity_donation"].ledger_of_orders()
    assert len(orders) == 1
    (entry,) = [
        r for r in world.reward_repo.of_referral(referral_id) if r.kind == "charity_donation"
    ]
    assert entry.status == RewardStatus.CONFIRMED
    assert entry.provider_reference == orders[0].provider_reference


@pytest.mark.parametrize(
    ("site", "fault"),
    [
        ("RewardQueue.send_reward", "duplicate_x5"),
        ("PayoutProvider.create_order", "lost_response"),
        ("PayoutProvider.create_order", "crash_after"),
        ("Table.write", "crash_after"),
    ],
)
def test_the_money_path_of_a_donating_program_survives(site: str, fault: str) -> None:
    # Given faults at the calls of one site, on a program donating for the advocate
    plan = InjectionPlan(site, fault, frozenset({1, 3, 5}), 0)
    world = _donating_world(plan)

    # When the money path runs to quiescence
    outcome = run_money_path(world)

    # Then nothing is paid twice, nothing is lost, and the money adds up
    assert outcome.violations == []
    assert world.injector.injected >= 1
