"""Any interleaving of provider refusals, deliveries, duplicate deliveries and reissues pays
each attempt at most once and the entry at most once overall, and keeps the budget whole."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.clock import FixedClock
from shared.domain.rewards import HOLDS_BUDGET, RewardMessage, RewardStatus
from shared.errors import Conflict
from shared.payouts.sandbox import SandboxCashProvider, SandboxGiftCardProvider
from shared.payouts.sandbox_faults import Fault, FaultPlan
from shared.schemas.rewards import ReissueIn
from shared.services.reconcile import reward_id_of_key
from shared.storage.memory_table import MemoryTable
from tests.support import T0
from tests.unit.rewards.conftest import World

FAULTS = st.sampled_from(
    [
        None,
        Fault.reject("refused"),
        Fault.error_5xx_after_processing(),
        Fault.timeout_after_processing(),
        Fault.rate_limit(),
    ]
)
STEPS = st.lists(st.sampled_from(["deliver", "deliver_twice", "reissue"]), max_size=12)


def _world(script: list[Fault | None]) -> World:
    clock = FixedClock(T0)
    gift_faults = FaultPlan(script=script)
    return World(
        table=MemoryTable(),
        clock=clock,
        queue=MemoryRewardQueue(),
        gift_faults=gift_faults,
        cash_faults=FaultPlan.none(),
        providers={
            "gift_card": SandboxGiftCardProvider(faults=gift_faults, clock=clock),
            "cash": SandboxCashProvider(clock=clock),
        },
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(FAULTS, max_size=8), steps=STEPS)
def test_reissues_never_pay_an_entry_twice(script: list[Fault | None], steps: list[str]) -> None:
    # Given one released referral whose gift-card payouts meet the scripted faults
    world = _world([Fault.reject("refused"), *script])
    program_id = world.program()
    _, code = world.advocate(program_id)
    referral_id = world.approved(program_id, code)
    world.release.run()
    world.drain()
    gift = next(r for r in world.rewards(referral_id) if r.kind == "gift_card")
    message = RewardMessage(gift.reward_id, referral_id)
    reissuer = world.services().reissue

    # When finance and the queue act in any order
    for step in steps:
        world.later(minutes=1)
        if step == "reissue":
            with contextlib.suppress(Conflict):
                reissuer.reissue(gift.reward_id, ReissueIn(note="again").command(), actor="fin")
        else:
            for _ in range(2 if step == "deliver_twice" else 1):
                world.deliver(message)

    # Then the gift card was paid at most once, under at most one attempt's key
    entry = world.reward_repo.get(referral_id, gift.reward_id)
    assert entry is not None
    event(f"{entry.status} after attempt {entry.attempt}")
    paid = [o for o in world.paid_orders() if reward_id_of_key(o.idempotency_key) == gift.reward_id]
    assert len(paid) <= 1
    if entry.status == RewardStatus.CONFIRMED:
        assert [o.idempotency_key for o in paid] == [entry.idempotency_key]
    # And the budget holds exactly what the entries still spend
    spent = sum(
        (r.amount for r in world.rewards(referral_id) if r.status in HOLDS_BUDGET), Decimal(0)
    )
    assert world.budget_left(program_id) == Decimal("5000.00") - spent
