"""Every fault at every site of the money path is survived.

Sites are the write methods of the `Table` port, every queue send and every payout
provider call, enumerated from the ports (see `sites`). Each case runs seeded scenarios
of referral -> score -> release -> fulfil -> refund -> reconcile, injecting its fault at
seeded calls of its site, drives the system to quiescence as production would, and
checks: nothing paid twice, no referral lost, every message processed or dead-lettered
with its reason, approved == ledger paid == provider orders per currency, and a budget
never below zero at any step. FAULT_SEED repeats a run.
"""

from __future__ import annotations

import os
import random
import zlib
from collections import Counter

import pytest

from shared.storage.memory_table import MemoryTable
from tests.fault import tally
from tests.fault.conftest import TableFactory
from tests.fault.proxies import InjectionPlan, Injector
from tests.fault.scenario import run_money_path
from tests.fault.sites import SITES, is_write, protocol_methods
from tests.fault.world import FaultWorld

SEED = int(os.environ.get("FAULT_SEED", "20261203"))
INJECTIONS_PER_SCENARIO = 3
# Per (site, fault): memory runs scenarios until this many faults went in; moto, fewer.
TARGET = {"memory": 40, "moto": 3}
MAX_SCENARIOS = {"memory": 40, "moto": 2}

CASES = [
    pytest.param(site.name, fault, id=f"{site.name}-{fault}")
    for site in SITES
    for fault in site.faults
]
_clean_calls: dict[str, Counter[str]] = {}


def clean_calls(backend: str, tables: TableFactory) -> Counter[str]:
    """How often each site is called when nothing fails (where the plan can aim)."""
    if backend not in _clean_calls:
        world = FaultWorld(tables(), Injector())
        outcome = run_money_path(world)
        assert outcome.violations == [], outcome.violations
        _clean_calls[backend] = world.injector.calls
    return _clean_calls[backend]


def plan_for(site: str, fault: str, scenario: int, calls: int) -> InjectionPlan:
    seed = zlib.crc32(f"{SEED}:{site}:{fault}:{scenario}".encode())
    rng = random.Random(seed)
    # Aim past the clean count too: faults make more calls (retries, redeliveries).
    candidates = range(1, calls + 3)
    at = frozenset(rng.sample(candidates, min(INJECTIONS_PER_SCENARIO, len(candidates))))
    return InjectionPlan(site=site, fault=fault, at_calls=at, seed=seed)


def test_sites_are_every_write_send_and_provider_call_the_ports_declare() -> None:
    # Given the ports as declared, when the sites are enumerated
    names = {site.name for site in SITES}
    # Then every table write, every queue send and every provider call is a site
    assert "Table.write" in names and "Table.get" not in names and "Table.query" not in names
    assert {"ScoringQueue.request_scoring", "RewardQueue.send_reward"} <= names
    assert {
        "PayoutProvider.create_order",
        "PayoutProvider.find_order",
        "PayoutProvider.get_order",
        "PayoutProvider.list_orders",
    } <= names
    assert not is_write("find_order") and is_write("create_order")
    assert "name" not in protocol_methods(type("P", (), {"name": property(lambda s: "x")}))


def test_a_clean_run_of_the_money_path_keeps_every_invariant(
    backend: tuple[str, TableFactory],
) -> None:
    # Given no fault, when the money path runs to quiescence, then every invariant holds
    _, tables = backend
    world = FaultWorld(tables(), Injector())
    outcome = run_money_path(world)
    assert outcome.violations == []
    assert not world.job_failures


@pytest.mark.parametrize(("site", "fault"), CASES)
def test_every_fault_at_every_site_is_survived(
    backend: tuple[str, TableFactory], site: str, fault: str
) -> None:
    name, tables = backend
    calls = clean_calls(name, tables)[site]
    if calls == 0:
        tally.note(name, site, fault, "not called on the money path")
        pytest.skip(f"{site} is not called on the money path (0 calls in a clean run)")
    injected = 0
    failures: list[str] = []
    for scenario in range(MAX_SCENARIOS[name]):
        if injected >= TARGET[name]:
            break
        # Given a seeded plan injecting the fault at chosen calls of the site
        plan = plan_for(site, fault, scenario, calls)
        world = FaultWorld(tables(), Injector(plan))
        # When the money path runs and the system is driven to quiescence
        outcome = run_money_path(world)
        injected += world.injector.injected
        tally.record(name, site, fault, world.injector.injected, not outcome.violations)
        if outcome.violations:
            failures.append(
                f"FAULT_SEED={SEED} plan={plan} injected={world.injector.injected}: "
                + "; ".join(outcome.violations)
            )
    # Then every invariant held after every scenario
    assert failures == []
    assert injected >= min(TARGET[name], 1)


# The sites a points reward's path meets (it calls no payout provider).
POINTS_CASES = [
    pytest.param(site.name, fault, id=f"points-{site.name}-{fault}")
    for site in SITES
    if site.port in ("Table", "RewardQueue")
    for fault in site.faults
]


def test_a_clean_run_of_the_money_path_with_points_keeps_every_invariant(
    backend: tuple[str, TableFactory],
) -> None:
    # Given an advocate rewarded in points, when the money path runs to quiescence
    _, tables = backend
    world = FaultWorld(tables(), Injector(), points=True)
    outcome = run_money_path(world)
    # Then every invariant holds, and the kept referral's points are on the ledger
    assert outcome.violations == []
    assert not world.job_failures
    assert sorted(a.balance for a in world.points_accounts()) == [0, 0, 500]


@pytest.mark.parametrize(("site", "fault"), POINTS_CASES)
def test_every_fault_on_the_points_path_is_survived(site: str, fault: str) -> None:
    # Given seeded plans injecting the fault at chosen calls of the site (duplicate
    # deliveries of a points reward among them), on the in-memory table
    clean = FaultWorld(MemoryTable(), Injector(), points=True)
    assert run_money_path(clean).violations == []
    calls = clean.injector.calls
    injected = 0
    failures: list[str] = []
    for scenario in range(MAX_SCENARIOS["memory"]):
        if injected >= TARGET["memory"]:
            break
        plan = plan_for(site, fault, scenario, calls[site])
        world = FaultWorld(MemoryTable(), Injector(plan), points=True)
        # When the money path runs and the system is driven to quiescence
        outcome = run_money_path(world)
        injected += world.injector.injected
        tally.record("points", site, fault, world.injector.injected, not outcome.violations)
        if outcome.violations:
            failures.append(f"FAULT_SEED={SEED} plan={plan}: " + "; ".join(outcome.violations))
    # Then each points entry was credited once and every other invariant held
    assert failures == []
    assert injected >= 1


def test_a_points_reward_sent_five_times_is_credited_once() -> None:
    # Given every reward message sent five times over
    plan = InjectionPlan("RewardQueue.send_reward", "duplicate_x5", frozenset(range(1, 40)), 0)
    world = FaultWorld(MemoryTable(), Injector(plan), points=True)
    # When the money path runs to quiescence
    outcome = run_money_path(world)
    # Then the duplicates were delivered, and each advocate's points credited once
    assert world.injector.injected >= 3
    assert outcome.violations == []
    assert max(len(q.messages) for q in world.queues()) >= 5
    history = [e.kind for a in world.points_accounts() for e in world.points_history(a)]
    assert history.count("earned") == 2  # the kept referral's, and the clawed-back one's
    assert history.count("clawed_back") == 1
