"""The repositories' intent methods on the in-memory table: what each stages with a change,
and the domain error its commit raises when the table refuses it."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from shared.clock import FixedClock
from shared.domain.advocates import AdvocateChanged, AlreadyEnrolled, CodeTaken
from shared.domain.blocklist import AlreadyBlocked, BlocklistEntry, NoSuchEntry
from shared.domain.events import DuplicateEvent, ReferralEvent
from shared.domain.evidence import EvidenceKind, Observation
from shared.domain.referees import DuplicateReferee
from shared.repositories import keys
from shared.repositories.advocates import AdvocateRepository
from shared.repositories.blocklist import BlocklistRepository
from shared.repositories.customers import CustomerRecord, CustomerRecords
from shared.repositories.evidence import EvidenceIndex
from shared.repositories.referrals import ReferralRepository
from shared.repositories.reviews import ReviewIndex
from shared.repositories.unit_of_work import UnitOfWork
from shared.schemas.referrals import EventCreate
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Update
from tests.finance_support import Intake, flag
from tests.support import T0, purchase_body, unique


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def intake(table: MemoryTable) -> Intake:
    return Intake(table, FixedClock(T0))


def test_a_second_referral_of_the_same_referee_is_refused_naming_the_first(
    table: MemoryTable, intake: Intake
) -> None:
    # Given a referral of a referee
    program = intake.program()
    _, code = intake.advocate(program)
    first = intake.referral(program, code)
    repository = ReferralRepository(table)

    # When another referral of the same referee is added with a change
    changes = UnitOfWork(table).begin()
    repository.add(first.model_copy(update={"referral_id": "ref_second"}), within=changes)

    # Then the commit refuses it, naming the first referral, and writes nothing
    with pytest.raises(DuplicateReferee) as refused:
        changes.commit()
    assert refused.value.referral_id == first.referral_id
    assert repository.get("ref_second") is None


def test_enrolling_a_customer_twice_is_refused_naming_the_first_advocate(
    table: MemoryTable, intake: Intake
) -> None:
    # Given an enrolled advocate
    program = intake.program()
    advocate_id, _ = intake.advocate(program)
    repository = AdvocateRepository(table)
    advocate = repository.get(advocate_id)
    assert advocate is not None

    # When the same customer is enrolled again under another id and code
    changes = UnitOfWork(table).begin()
    again = advocate.model_copy(update={"advocate_id": "adv_again", "referral_code": "FRESH1"})
    repository.enrol(again, within=changes)

    # Then the commit names the advocate enrolled first
    with pytest.raises(AlreadyEnrolled) as refused:
        changes.commit()
    assert refused.value.advocate_id == advocate_id


def test_a_code_in_use_is_refused_as_taken(table: MemoryTable, intake: Intake) -> None:
    # Given an advocate with a code
    program = intake.program()
    advocate_id, code = intake.advocate(program)
    repository = AdvocateRepository(table)
    advocate = repository.get(advocate_id)
    assert advocate is not None

    # When another customer is enrolled with the same code
    changes = UnitOfWork(table).begin()
    other = advocate.model_copy(update={"advocate_id": "adv_other", "customer_id": unique("c")})
    repository.enrol(other, within=changes)

    # Then the commit says the code is taken
    with pytest.raises(CodeTaken):
        changes.commit()
    assert repository.find_by_code(code) == advocate


def test_an_event_already_recorded_is_refused_as_a_duplicate(
    table: MemoryTable, intake: Intake
) -> None:
    # Given a qualified referral, whose purchase is recorded
    program = intake.program()
    _, code = intake.advocate(program)
    referral = intake.qualified(program, code)
    repository = ReferralRepository(table)
    [recorded] = repository.events(referral.referral_id)

    # When the same order is added again
    changes = UnitOfWork(table).begin()
    repository.add_event(
        ReferralEvent(**{**recorded.model_dump(), "body_hash": "x"}), within=changes
    )

    # Then the commit refuses it by its dedupe key
    with pytest.raises(DuplicateEvent) as refused:
        changes.commit()
    assert refused.value.dedupe_key == recorded.dedupe_key
    assert repository.events(referral.referral_id) == [recorded]


def test_blocking_twice_is_refused_and_removing_twice_finds_no_entry(table: MemoryTable) -> None:
    # Given a blocked device
    repository = BlocklistRepository(table)
    units = UnitOfWork(table)
    entry = BlocklistEntry(
        entry_id="blk_device_1",
        kind="device",
        value_hash="hash-1",
        hint="dev…1",
        created_by="finance-1",
        created_at=T0,
    )
    changes = units.begin()
    repository.add(entry, within=changes)
    changes.commit()

    # When it is blocked again, then removed twice
    again = units.begin()
    repository.add(entry, within=again)
    with pytest.raises(AlreadyBlocked) as refused:
        again.commit()
    removal = units.begin()
    repository.remove(entry.entry_id, within=removal)
    removal.commit()
    second = units.begin()
    repository.remove(entry.entry_id, within=second)

    # Then the second block names the entry, and the second removal finds none
    assert refused.value.entry_id == entry.entry_id
    with pytest.raises(NoSuchEntry):
        second.commit()
    assert repository.get(entry.entry_id) is None


def _seen(value: str, at_minutes: int, subject: str) -> Observation:
    return Observation(
        kind=EvidenceKind.DEVICE,
        value=value,
        occurred_at=T0 + timedelta(minutes=at_minutes),
        program_id="prg_1",
        advocate_id="adv_1",
        referral_id=subject,
        customer_id=f"cust-{subject}",
        role="referee",
    )


def test_evidence_recorded_with_a_change_reads_newest_first_and_says_when_there_is_more(
    table: MemoryTable,
) -> None:
    # Given three sightings of one device recorded with a change, and one user agent
    device = unique("device")
    index = EvidenceIndex(table)
    changes = UnitOfWork(table).begin()
    sightings = [_seen(device, n, f"ref_{n}") for n in range(3)]
    agent = _seen("agent", 0, "ref_0").model_copy(update={"kind": EvidenceKind.USER_AGENT})
    index.record([*sightings, agent], within=changes)
    changes.commit()

    # When the two newest are read
    newest, truncated = index.latest(EvidenceKind.DEVICE, device, 2)

    # Then they come newest first, the older one is announced, and agents are not indexed
    assert [o.referral_id for o in newest] == ["ref_2", "ref_1"]
    assert truncated
    assert index.latest(EvidenceKind.USER_AGENT, "agent", 5) == ([], False)


def test_an_advocates_contact_is_erased_once_and_a_concurrent_change_is_refused(
    table: MemoryTable, intake: Intake
) -> None:
    # Given an advocate whose record changes after the erasure read it
    program = intake.program()
    advocate_id, _ = intake.advocate(program)
    repository = AdvocateRepository(table)
    units = UnitOfWork(table)
    raced = units.begin()
    before = repository.erase_contact(advocate_id, within=raced)
    stored = table.get(*keys.advocate(advocate_id))
    assert stored is not None and before is not None and not before.contact_erased
    doc = {**stored["doc"], "rewarded_referrals": 1}
    table.write([Update(stored["pk"], stored["sk"], set={"doc": doc})])

    # When the raced erasure commits, and a fresh one runs twice
    with pytest.raises(AdvocateChanged):
        raced.commit()
    fresh = units.begin()
    repository.erase_contact(advocate_id, within=fresh)
    fresh.commit()
    again = units.begin()
    erased = repository.erase_contact(advocate_id, within=again)

    # Then the fresh one drops the email, keeps the concurrent change, and the next finds
    # nothing to stage
    assert erased is not None and erased.contact_erased and erased.rewarded_referrals == 1
    assert len(again) == 0


def test_customer_records_name_the_customer_as_advocate_and_as_referee(
    table: MemoryTable, intake: Intake
) -> None:
    # Given a customer who enrolled in one program and was referred in another
    customer = unique("both")
    first, second = intake.program(), intake.program()
    advocate_id, _ = intake.advocate(first, customer_id=customer)
    _, code = intake.advocate(second)
    referral = intake.referral(second, code, referee={"customer_id": customer, "email": "b@x.io"})

    # When the customer's records are listed
    records = set(CustomerRecords(table).of_customer(customer))

    # Then both roles are named by their record's id
    assert records == {
        CustomerRecord("advocate", advocate_id),
        CustomerRecord("referee", referral.referral_id),
    }


def test_the_review_index_is_restored_closed_and_read_by_version(
    table: MemoryTable, intake: Intake
) -> None:
    # Given a referral in review whose index item was lost
    program = intake.program()
    _, code = intake.advocate(program)
    flagged = flag(table, intake.qualified(program, code).referral_id, 70, T0)
    index = ReviewIndex(table)
    index.close(flagged.referral_id)
    assert index.indexed_version(flagged.referral_id) is None

    # When it is restored
    index.restore(flagged)

    # Then it is indexed at the referral's version, and listed as open
    assert index.indexed_version(flagged.referral_id) == flagged.version
    assert flagged.referral_id in index.open_referral_ids()


def _request_hash(body: EventCreate) -> str:
    """How a reported event's hash was computed from its request body."""
    canonical = json.dumps(body.model_dump(mode="json", exclude_unset=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(
    "body",
    [
        purchase_body(),
        purchase_body("order-9", amount="120.50", currency="USD"),
        {**purchase_body(), "occurred_at": "2026-11-02T11:00:00+01:00"},
        {**purchase_body(), "payment_fingerprint": None},
        {"type": "signup", "payment_fingerprint": "card-1"},
        {"type": "signup"},
        {"type": "signup", "amount": "0", "currency": "JPY"},
    ],
)
def test_an_events_report_hash_is_the_hash_of_the_request_body(body: dict[str, Any]) -> None:
    # Given a reported event, validated as the HTTP layer does
    request = EventCreate.model_validate(body)

    # When its command is hashed
    digest = request.command().report_hash()

    # Then it is the hash stored events were given from the request body
    assert digest == _request_hash(request)
