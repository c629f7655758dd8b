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
