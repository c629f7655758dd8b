"""Erasure replaces the raw customer id by a keyed pseudonym wherever the customer's records
reach: evidence, ledger entries, audit entries, guards and other referrals' risk evidence."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest

from shared.clock import FixedClock
from shared.domain.audit import AuditEntry
from shared.domain.customers import pseudonym
from shared.domain.referrals import Reason, Risk
from shared.domain.rewards import Reward, RewardStatus
from shared.errors import Conflict
from shared.repositories.audit import AuditLog
from shared.repositories.referrals import ReferralRepository
from shared.repositories.rewards import RewardRepository
from shared.services.customers import CustomerService, ErasureUnfinished
from shared.services.ledger import Change
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Update, WriteOp
from tests.finance_support import Intake, fixed_hasher, services_on
from tests.support import T0, advocate_body, unique


@dataclass
class Footprint:
    """A customer who enrolled in one program, referred themself and a friend there, was
    referred in another, and whose device links a stranger's referral to them."""

    customer_id: str
    program_id: str
    advocate_id: str
    own_referral: str
    friend_referral: str
    self_referral: str
    linked_referral: str


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def intake(table: MemoryTable) -> Intake:
    return Intake(table, FixedClock(T0))


@pytest.fixture
def customers(table: MemoryTable) -> CustomerService:
    return services_on(table, FixedClock(T0)).customers


def _reward(referral_id: str, program_id: str, customer_id: str, slot: str) -> Reward:
    return Reward(
        reward_id=f"{referral_id}-{slot}",
        referral_id=referral_id,
        program_id=program_id,
        beneficiary="advocate" if slot == "advocate" else "referee",
        customer_id=customer_id,
        advocate_id="adv_x",
        kind="cash",
        amount=Decimal("10.00"),
        currency="USD",
        status=RewardStatus.QUEUED,
        created_at=T0,
        updated_at=T0,
    )


def _name_in_risk(table: MemoryTable, referral_id: str, customer_id: str) -> None:
    repository = ReferralRepository(table)
    referral = repository.get(referral_id)
    assert referral is not None
    risk = Risk(
        score=Decimal(40),
        decision="review",
        reasons=[
            Reason(code="SHARED_DEVICE", message="seen", evidence={"customers": [customer_id]})
        ],
        model_version="test-model-1",
        scored_at=T0,
    )
    table.write([repository.save_op(referral.changed(T0, risk=risk), referral.version)])


def _footprint(intake: Intake, table: MemoryTable) -> Footprint:
    customer = unique("cust-erase")
    device = unique("dev")
    home, away = intake.program(), intake.program()
    advocate_id, code = intake.advocate(
        home, **advocate_body(customer, context={"ip": "203.0.113.9", "device_id": device})
    )
    friend = intake.qualified(home, code)
    himself = intake.referral(home, code, referee={"customer_id": customer, "email": "x@y.org"})
    _, other_code = intake.advocate(away)
    own = intake.qualified(
        away,
        other_code,
        referee={"customer_id": customer, "email": "c@example.net"},
        context={"ip": "192.0.2.4", "device_id": device},
    )
    linked = intake.referral(away, other_code, context={"ip": "192.0.2.5", "device_id": device})
    _name_in_risk(table, linked.referral_id, customer)
    ledger = RewardRepository(table)
    audit = AuditLog(table)
    table.write(
        [
            ledger.create_op(_reward(own.referral_id, away, customer, "referee")),
            ledger.create_op(_reward(friend.referral_id, home, customer, "advocate")),
            audit.entry_op(
                AuditEntry.record(
                    T0,
                    "ops-1",
                    "referral.noted",
                    referral_id=own.referral_id,
                    program_id=away,
                    before={"customer": customer},
                    details={"customers": [customer, "someone-else"]},
                )
            ),
            # An advocate's erasure as recorded before erasure pseudonymised the id.
            audit.entry_op(
                AuditEntry.record(
                    T0,
                    "dpo-0",
                    "customer.erased",
                    program_id=home,
                    details={"customer_id": customer, "advocate_id": advocate_id},
                )
            ),
        ]
    )
    return Footprint(
        customer,
        home,
        advocate_id,
        own.referral_id,
        friend.referral_id,
        himself.referral_id,
        linked.referral_id,
    )


def _dump(table: MemoryTable) -> str:
    return json.dumps(table.all_items(), default=str)


def _ledger(table: MemoryTable) -> list[tuple[str, str, str, str]]:
    return sorted(
        (i["sk"], i["doc"]["amount"], i["doc"]["currency"], i["status"])
        for i in table.all_items()
        if i.get("type") == "reward"
    )


def _audit(table: MemoryTable) -> list[tuple[str, str, str, str]]:
    return sorted(
        (i["doc"]["entry_id"], i["doc"]["action"], i["doc"]["actor"], str(i["doc"]["at"]))
        for i in table.all_items()
        if i.get("type") == "audit"
    )


def test_erasure_leaves_the_raw_customer_id_nowhere_in_the_table(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    # Given a customer whose id is in evidence, ledger, audit, guards and others' risk
    footprint = _footprint(intake, table)
    assert footprint.customer_id in _dump(table)

    # When the customer is erased
    customers.erase(footprint.customer_id, "dpo-1")

    # Then no item names the raw id; the pseudonym stands in for it
    dump = _dump(table)
    assert footprint.customer_id not in dump
    assert pseudonym(fixed_hasher(), footprint.customer_id) in dump


def test_pseudonymised_ledger_entries_keep_amounts_statuses_and_the_budget(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    footprint = _footprint(intake, table)
    ledger, budget = _ledger(table), RewardRepository(table).budget_left(footprint.program_id)

    customers.erase(footprint.customer_id, "dpo-1")

    assert _ledger(table) == ledger
    assert RewardRepository(table).budget_left(footprint.program_id) == budget
    rewards = RewardRepository(table).of_referral(footprint.own_referral)
    assert [r.customer_id for r in rewards] == [pseudonym(fixed_hasher(), footprint.customer_id)]


def test_erasure_drops_the_payout_address_a_reissue_gave_a_ledger_entry(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    # Given a ledger entry reissued to another address of the customer
    footprint = _footprint(intake, table)
    ledger = RewardRepository(table)
    reward = ledger.get(footprint.own_referral, f"{footprint.own_referral}-referee")
    assert reward is not None
    readdressed = reward.model_copy(
        update={"recipient_email": "carol.other@example.com", "version": reward.version + 1}
    )
    ledger.save(readdressed, reward.version)

    # When the customer is erased
    customers.erase(footprint.customer_id, "dpo-1")

    # Then the entry keeps its amount but no longer holds the address
    after = ledger.get(footprint.own_referral, reward.reward_id)
    assert after is not None and after.recipient_email is None
    assert (after.amount, after.status) == (reward.amount, reward.status)
    assert "carol.other@example.com" not in _dump(table)


def test_audit_entries_keep_ids_actions_times_and_actors_and_the_erasure_is_audited(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    footprint = _footprint(intake, table)
    earlier = _audit(table)

    customers.erase(footprint.customer_id, "dpo-1")

    after = _audit(table)
    assert [e for e in after if e in earlier] == earlier
    assert {e[1] for e in after if e not in earlier} == {"customer.erased"}
    entries, _ = AuditLog(table).for_referral(footprint.own_referral)
    noted = next(e for e in entries if e.action == "referral.noted")
    alias = pseudonym(fixed_hasher(), footprint.customer_id)
    assert noted.before == {"customer": alias}
    assert noted.details == {"customers": [alias, "someone-else"]}


def test_a_second_erasure_finds_nothing_more_to_do_and_says_so(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    footprint = _footprint(intake, table)
    first = customers.erase(footprint.customer_id, "dpo-1")
    snapshot = table.all_items()

    again = customers.erase(footprint.customer_id, "dpo-1")

    assert table.all_items() == snapshot
    assert (again.advocates, again.referrals) == ([], [])
    assert again.already_erased == len(first.advocates) + len(first.referrals) == 3


def test_the_referee_guard_is_kept_under_the_pseudonym(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    footprint = _footprint(intake, table)

    customers.erase(footprint.customer_id, "dpo-1")

    alias = pseudonym(fixed_hasher(), footprint.customer_id)
    guarded = ReferralRepository(table).find_by_referee(footprint.program_id, alias)
    assert guarded is not None and guarded.referral_id == footprint.self_referral
    assert (
        ReferralRepository(table).find_by_referee(footprint.program_id, footprint.customer_id)
        is None
    )


def test_a_customer_referred_again_after_erasure_is_still_a_duplicate(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    footprint = _footprint(intake, table)
    customers.erase(footprint.customer_id, "dpo-1")
    _, code = intake.advocate(footprint.program_id)

    with pytest.raises(Conflict):
        intake.referral(
            footprint.program_id,
            code,
            referee={"customer_id": footprint.customer_id, "email": "again@example.org"},
        )


def test_erasure_is_bounded_per_call_and_a_repeat_continues_it(
    intake: Intake, table: MemoryTable
) -> None:
    footprint = _footprint(intake, table)
    customers = services_on(table, FixedClock(T0)).customers
    customers.items_per_call = 5

    calls = 1
    while True:
        try:
            customers.erase(footprint.customer_id, "dpo-1")
            break
        except ErasureUnfinished:
            calls += 1
            assert calls < 100

    assert calls > 1
    assert footprint.customer_id not in _dump(table)


def test_a_ledger_change_racing_the_erasure_is_neither_lost_nor_loses_the_erasure(
    intake: Intake, table: MemoryTable
) -> None:
    footprint = _footprint(intake, table)
    services = services_on(table, FixedClock(T0))
    reward_id = f"{footprint.own_referral}-referee"
    start = threading.Barrier(2)

    def confirm() -> None:
        start.wait()
        for _ in range(20):
            services.ledger.apply(
                footprint.own_referral,
                reward_id,
                lambda r: Change(
                    r.model_copy(update={"attempts": r.attempts + 1, "version": r.version + 1})
                ),
            )

    def erase() -> None:
        start.wait()
        services.customers.erase(footprint.customer_id, "dpo-1")

    threads = [threading.Thread(target=confirm), threading.Thread(target=erase)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    reward = RewardRepository(table).get(footprint.own_referral, reward_id)
    assert reward is not None and reward.attempts == 20
    assert reward.amount == Decimal("10.00") and reward.status == RewardStatus.QUEUED
    assert footprint.customer_id not in _dump(table)


class TableWithAWindow(MemoryTable):
    """Runs `meanwhile` in another thread, once, between the erasure's read of the item
    sorted under `watched` and its write of it: the moment a concurrent fulfilment would
    slip in."""

    def __init__(self) -> None:
        super().__init__()
        self.watched = ""
        self.meanwhile: Callable[[], None] | None = None

    def write(self, ops: Sequence[WriteOp]) -> None:
        rewrites = any(isinstance(op, Update) and op.sk == self.watched for op in ops)
        if rewrites and self.meanwhile is not None:
            other, self.meanwhile = threading.Thread(target=self.meanwhile), None
            other.start()
            other.join()
        super().write(ops)


def _one_more_attempt(reward: Reward) -> Change:
    return Change(
        reward.model_copy(update={"attempts": reward.attempts + 1, "version": reward.version + 1})
    )


def test_a_ledger_change_between_the_erasures_read_and_write_is_kept() -> None:
    # Given an erasure that has read a ledger entry
    table = TableWithAWindow()
    footprint = _footprint(Intake(table, FixedClock(T0)), table)
    services = services_on(table, FixedClock(T0))
    reward_id = f"{footprint.own_referral}-referee"
    table.watched = f"REWARD#{reward_id}"
    table.meanwhile = lambda: services.ledger.apply(
        footprint.own_referral, reward_id, _one_more_attempt
    )

    # When fulfilment changes the entry before the erasure writes it
    services.customers.erase(footprint.customer_id, "dpo-1")

    # Then both changes hold: the attempt is counted and the raw id is gone
    reward = RewardRepository(table).get(footprint.own_referral, reward_id)
    assert reward is not None and reward.attempts == 1
    assert reward.customer_id == pseudonym(fixed_hasher(), footprint.customer_id)
    assert footprint.customer_id not in _dump(table)


def test_an_erasure_between_a_ledger_read_and_its_write_is_kept(
    intake: Intake, table: MemoryTable
) -> None:
    # Given fulfilment that has read a ledger entry naming the raw id
    footprint = _footprint(intake, table)
    services = services_on(table, FixedClock(T0))
    reward_id = f"{footprint.own_referral}-referee"
    erased_meanwhile = []

    def decide(reward: Reward) -> Change:
        if not erased_meanwhile:
            erasure = threading.Thread(
                target=lambda: services.customers.erase(footprint.customer_id, "dpo-1")
            )
            erasure.start()
            erasure.join()
            erased_meanwhile.append(True)
        return _one_more_attempt(reward)

    # When the erasure commits before fulfilment writes its change
    services.ledger.apply(footprint.own_referral, reward_id, decide)

    # Then fulfilment read again: its change holds and does not bring the raw id back
    reward = RewardRepository(table).get(footprint.own_referral, reward_id)
    assert reward is not None and reward.attempts == 1
    assert reward.amount == Decimal("10.00")
    assert footprint.customer_id not in _dump(table)
