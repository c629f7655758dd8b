"""Customer erasure: raw emails go, hashes, the reward ledger and the audit trail stay."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shared.clock import FixedClock
from shared.domain.audit import AuditEntry
from shared.domain.customers import pseudonym
from shared.domain.rewards import Reward, RewardStatus
from shared.repositories.advocates import AdvocateRepository
from shared.repositories.audit import AuditLog
from shared.repositories.referrals import ReferralRepository
from shared.repositories.rewards import REWARDED_REFERRALS, RewardRepository
from shared.services.customers import CustomerService
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Item
from tests.finance_support import Intake, fixed_hasher, services_on
from tests.support import T0, advocate_body


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def intake(table: MemoryTable) -> Intake:
    return Intake(table, FixedClock(T0))


@pytest.fixture
def customers(table: MemoryTable) -> CustomerService:
    return services_on(table, FixedClock(T0)).customers


def _ledger_and_audit(table: MemoryTable) -> list[Item]:
    kept = [i for i in table.all_items() if i.get("type") in ("reward", "audit")]
    return sorted(kept, key=lambda i: (i["pk"], i["sk"]))


def _customer_in_two_roles(intake: Intake) -> tuple[str, str, str]:
    """`carol` enrolled as an advocate in one program and was referred in another."""
    first, second = intake.program(), intake.program()
    advocate_id, _ = intake.advocate(first, **advocate_body("carol"))
    _, code = intake.advocate(second)
    referral = intake.qualified(
        second, code, referee={"customer_id": "carol", "email": "Carol.Smith+promo@gmail.com"}
    )
    return advocate_id, referral.referral_id, second


def test_erasure_removes_the_raw_emails_of_every_role_the_customer_had(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    advocate_id, referral_id, _ = _customer_in_two_roles(intake)

    erasure = customers.erase("carol", "dpo-1")

    assert erasure.advocates == [advocate_id] and erasure.referrals == [referral_id]
    advocate = AdvocateRepository(table).get(advocate_id)
    referral = ReferralRepository(table).get(referral_id)
    assert advocate is not None and advocate.email is None and advocate.erased
    assert referral is not None and referral.referee_email is None
    dump = json.dumps(table.all_items(), default=str).lower()
    assert "carol@example.com" not in dump and "carol.smith" not in dump


def test_erasure_keeps_the_hashes_fraud_links_depend_on(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    _, referral_id, _ = _customer_in_two_roles(intake)
    before = ReferralRepository(table).get(referral_id)

    customers.erase("carol", "dpo-1")

    after = ReferralRepository(table).get(referral_id)
    assert before is not None and after is not None
    assert after.fingerprint == before.fingerprint and after.fingerprint.email is not None


def test_erasure_keeps_the_ledger_entry_and_earlier_audit_entries(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    _, referral_id, program_id = _customer_in_two_roles(intake)
    table.write(
        [
            AuditLog(table).entry_op(
                AuditEntry(
                    entry_id="aud_before",
                    at=T0,
                    actor="system:scoring",
                    action="referral.scored",
                    referral_id=referral_id,
                    program_id=program_id,
                )
            ),
            RewardRepository(table).create_op(_reward(referral_id, program_id)),
        ]
    )
    kept = _ledger_and_audit(table)

    customers.erase("carol", "dpo-1")

    after = _ledger_and_audit(table)
    audit_kept = [i for i in kept if i["type"] == "audit"]
    assert [i for i in after if i in audit_kept] == audit_kept
    new = [i["doc"]["action"] for i in after if i["type"] == "audit" and i not in kept]
    assert new == ["customer.erased", "customer.erased"]
    reward = RewardRepository(table).get(referral_id, f"{referral_id}-referee")
    assert reward is not None and reward.customer_id == pseudonym(fixed_hasher(), "carol")
    assert (reward.amount, reward.status) == (Decimal("10.00"), RewardStatus.CONFIRMED)


def test_erasure_is_audited_per_record_with_who_asked(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    _, referral_id, _ = _customer_in_two_roles(intake)

    customers.erase("carol", "dpo-1")

    entries, _ = AuditLog(table).for_referral(referral_id)
    assert [(e.action, e.actor) for e in entries] == [("customer.erased", "dpo-1")]
    assert entries[0].before == {"email": "present"} and entries[0].after == {"email": "erased"}


def test_erasing_again_changes_nothing(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    _customer_in_two_roles(intake)
    customers.erase("carol", "dpo-1")
    snapshot = table.all_items()

    again = customers.erase("carol", "dpo-1")

    assert again.advocates == [] and again.referrals == [] and again.already_erased == 2
    assert table.all_items() == snapshot


def test_erasure_keeps_the_advocates_reward_counters(
    intake: Intake, customers: CustomerService, table: MemoryTable
) -> None:
    advocate_id, _, _ = _customer_in_two_roles(intake)
    ledger = RewardRepository(table)
    table.write([ledger.cap_slot_op(advocate_id, 0, exists=False)])

    customers.erase("carol", "dpo-1")

    assert ledger.rewarded_referrals(advocate_id) == (1, True)
    item = table.get(f"ADVOCATE#{advocate_id}", "ADVOCATE")
    assert item is not None and item[REWARDED_REFERRALS] == Decimal(1)


def test_an_unknown_customer_is_a_successful_no_op(customers: CustomerService) -> None:
    erasure = customers.erase("nobody", "dpo-1")

    assert (erasure.advocates, erasure.referrals, erasure.already_erased) == ([], [], 0)


def _reward(referral_id: str, program_id: str) -> Reward:
    return Reward(
        reward_id=f"{referral_id}-referee",
        referral_id=referral_id,
        program_id=program_id,
        beneficiary="referee",
        customer_id="carol",
        advocate_id="adv_x",
        kind="cash",
        amount=Decimal("10.00"),
        currency="USD",
        status=RewardStatus.CONFIRMED,
        created_at=T0,
        updated_at=T0,
    )
