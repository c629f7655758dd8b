"""One scenario over the whole money path, and the invariants that must hold after it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from shared.domain.referrals import ReferralStatus
from shared.domain.rewards import RewardStatus
from shared.services.reconcile import reward_id_of_key
from tests.fault.world import BUDGET, MAX_ROUNDS, POINT_VALUE, FaultWorld

REFERRALS = 3


@dataclass
class Outcome:
    rounds: int
    refunded: set[str]
    violations: list[str] = field(default_factory=list)


def run_money_path(world: FaultWorld) -> Outcome:
    """referral -> score -> release -> fulfil -> refund -> reconcile, then quiescence.

    The first referral is refunded after its rewards went out (a clawback), the second
    before release (nothing is paid), the third is paid and kept."""
    world.injector.armed = False
    world.arrange_program()
    codes = [world.arrange_advocate() for _ in range(REFERRALS)]
    world.injector.armed = True
    made = [world.refer_and_buy(code) for code in codes]
    world.deliver_scoring()
    world.refund(*made[1])
    world.run_release()
    world.deliver_rewards()
    world.refund(*made[0])
    world.run_reconcile()
    rounds = world.quiesce()
    outcome = Outcome(rounds=rounds, refunded={made[0][0], made[1][0]})
    outcome.violations = violations(world, outcome)
    return outcome


def violations(world: FaultWorld, outcome: Outcome) -> list[str]:
    found: list[str] = []
    if outcome.rounds > MAX_ROUNDS:
        found.append(f"no quiescence after {MAX_ROUNDS} rounds")
    found += world.budget_violations
    found += _paid_at_most_once(world)
    found += _points_credited_once(world)
    found += _no_referral_lost(world, outcome.refunded)
    found += _every_message_accounted_for(world)
    found += _money_adds_up(world)
    return found


def _paid_at_most_once(world: FaultWorld) -> list[str]:
    """At most one order per key, and at most one paid order per reward."""
    per_reward: Counter[str] = Counter()
    per_key: Counter[str] = Counter()
    for kind, sandbox in world.sandboxes.items():
        reward_of_key = world.providers[kind].reward_of_key
        for order in sandbox.ledger_of_orders():
            key = order.idempotency_key
            per_key[key] += 1
            if order.counts_as_paid:
                per_reward[reward_of_key.get(key) or str(reward_id_of_key(key))] += 1
    twice = {k: n for k, n in per_key.items() if n > 1}
    twice.update({r: n for r, n in per_reward.items() if n > 1})
    return [f"paid more than once: {twice}"] if twice else []


def _points_credited_once(world: FaultWorld) -> list[str]:
    """Each paid points entry earned once on its customer's ledger, each clawed-back one
    was taken back once, and every account keeps the ledger's invariants."""
    entries = [
        r
        for referral in world.referrals()
        for r in world.reward_repo.of_referral(referral.referral_id)
        if r.kind == "points"
    ]
    paid = {r.reward_id for r in entries if r.provider_reference is not None}
    clawed = {r.reward_id for r in entries if r.status == RewardStatus.CLAWED_BACK}
    found: list[str] = []
    earned: Counter[str] = Counter()
    taken: Counter[str] = Counter()
    for account in world.points_accounts():
        for entry in world.points_history(account):
            if entry.kind == "earned":
                earned[str(entry.reward_id)] += 1
            elif entry.kind == "clawed_back":
                taken[str(entry.reward_id)] += 1
        net = account.earned - account.redeemed - account.clawed_back
        if min(account.balance, account.debt) < 0 or net != account.balance - account.debt:
            found.append(f"points account of {account.customer_id} broke its invariants")
    if set(earned) != paid or any(n > 1 for n in earned.values()):
        found.append(f"points earned {dict(earned)} for paid entries {sorted(paid)}")
    if set(taken) != clawed & paid or any(n > 1 for n in taken.values()):
        found.append(f"points clawed back {dict(taken)} for entries {sorted(clawed & paid)}")
    return found


def _no_referral_lost(world: FaultWorld, refunded: set[str]) -> list[str]:
    found: list[str] = []
    referrals = world.referrals()
    if len(referrals) != REFERRALS:
        found.append(f"{len(referrals)} referrals recorded, {REFERRALS} made")
    for referral in referrals:
        rewards = world.reward_repo.of_referral(referral.referral_id)
        statuses = sorted(r.status.value for r in rewards)
        if referral.referral_id in refunded:
            ok = referral.status == ReferralStatus.REVERSED and all(
                r.status in (RewardStatus.CANCELLED, RewardStatus.CLAWED_BACK) for r in rewards
            )
        else:
            ok = (
                referral.status == ReferralStatus.REWARDED
                and len(rewards) == 2
                and all(r.status == RewardStatus.CONFIRMED for r in rewards)
            )
        if not ok:
            found.append(f"referral {referral.referral_id} ended {referral.status} with {statuses}")
    return found


def _every_message_accounted_for(world: FaultWorld) -> list[str]:
    found: list[str] = []
    for queue in world.queues():
        for message in queue.messages:
            if message.outcome is None:
                found.append(f"{queue.name} message {message.body} still in flight")
            elif message.outcome == "dlq" and not message.reason:
                found.append(f"{queue.name} message {message.body} dead-lettered without reason")
    return found


def _money_adds_up(world: FaultWorld) -> list[str]:
    """Per currency: approved rewards == ledger paid entries == provider orders, and the
    budget spent is exactly what was approved."""
    approved: dict[str, Decimal] = defaultdict(Decimal)
    ledger_paid: dict[str, Decimal] = defaultdict(Decimal)
    provider: dict[str, Decimal] = defaultdict(Decimal)
    unpaid_clawbacks = Decimal(0)
    for referral in world.referrals():
        for reward in world.reward_repo.of_referral(referral.referral_id):
            if reward.status == RewardStatus.CONFIRMED or (
                reward.status == RewardStatus.CLAWED_BACK and reward.provider_reference
            ):
                approved[reward.currency] += reward.amount
                ledger_paid[reward.currency] += reward.amount
            elif reward.status == RewardStatus.CLAWED_BACK:
                unpaid_clawbacks += reward.amount
    for sandbox in world.sandboxes.values():
        for order in sandbox.ledger_of_orders():
            if order.counts_as_paid:
                provider[order.currency] += order.amount
    # The points ledger is the points kind's provider: what it credited, at the point value.
    for account in world.points_accounts():
        provider["USD"] += account.earned * POINT_VALUE
    found: list[str] = []
    for currency in sorted(set(approved) | set(ledger_paid) | set(provider)):
        sums = (approved[currency], ledger_paid[currency], provider[currency])
        if len(set(sums)) != 1:
            found.append(f"{currency}: approved {sums[0]}, ledger paid {sums[1]}, orders {sums[2]}")
    spent = BUDGET - world.budget_left()
    if spent != approved["USD"]:
        found.append(f"budget spent {spent} but approved {approved['USD']}")
    if unpaid_clawbacks:
        found.append(f"clawed back but neither paid nor returned: {unpaid_clawbacks} USD")
    return found
