"""The blocklist: raw values hashed on the way in, masked hints, every change audited."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.clock import FixedClock
from shared.domain.evidence import fingerprint
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.pii import PiiKind
from shared.repositories.blocklist import TableBlocklist
from shared.services.blocklist import BlocklistService
from shared.storage.memory_table import MemoryTable
from tests.finance_support import fixed_hasher, services_on
from tests.support import T0


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def blocklist(table: MemoryTable) -> BlocklistService:
    return services_on(table, FixedClock(T0)).blocklist_entries


def _global_audit(table: MemoryTable) -> list[tuple[str, str]]:
    entries, _ = services_on(table, FixedClock(T0)).audit.entries(
        referral_id=None, program_id=None, limit=100, cursor=None
    )
    return [(e.action, e.actor) for e in entries]


def test_a_blocked_device_matches_the_hash_intake_gives_that_device(
    blocklist: BlocklistService, table: MemoryTable
) -> None:
    blocklist.add("device", "farm-phone-7", "device farm", "alice")
    prints = fingerprint(
        fixed_hasher(), email=None, ip=None, device_id="farm-phone-7", user_agent=None, country=None
    )

    entry = TableBlocklist(table).blocked("device", prints.device or "")

    assert entry is not None and entry.kind == "device" and entry.reason == "device farm"


def test_an_email_domain_matches_however_it_is_written(
    blocklist: BlocklistService, table: MemoryTable
) -> None:
    blocklist.add("email_domain", "@Mailinator.COM", None, "alice")
    prints = fingerprint(
        fixed_hasher(),
        email="someone@mailinator.com",
        ip=None,
        device_id=None,
        user_agent=None,
        country=None,
    )

    assert TableBlocklist(table).blocked("email_domain", prints.email_domain or "") is not None


def test_an_advocate_is_blocked_by_advocate_id(
    blocklist: BlocklistService, table: MemoryTable
) -> None:
    blocklist.add("advocate", "adv_123", None, "alice")

    assert TableBlocklist(table).blocked("advocate", "adv_123") is not None
    assert TableBlocklist(table).blocked("advocate", "adv_999") is None


def test_only_the_hash_and_a_masked_hint_are_stored(
    blocklist: BlocklistService, table: MemoryTable
) -> None:
    ip = blocklist.add("ip", "198.51.100.23", None, "alice")
    card = blocklist.add("payment", "tok_visa_4242424242424242", None, "alice")

    dump = json.dumps(table.all_items(), default=str)

    assert "198.51.100.23" not in dump and "tok_visa_4242424242424242" not in dump
    assert ip.hint == "198.51.100.x" and card.hint == "…4242"
    assert ip.value_hash == fixed_hasher().digest(PiiKind.IP, "198.51.100.23")


def test_adding_and_removing_are_audited_without_the_raw_value(table: MemoryTable) -> None:
    clock = FixedClock(T0)
    blocklist = services_on(table, clock).blocklist_entries
    entry = blocklist.add("device", "farm-phone-7", "device farm", "alice")
    clock.advance(timedelta(minutes=1))
    blocklist.remove(entry.entry_id, "bob")

    entries, _ = services_on(table, FixedClock(T0)).audit.entries(
        referral_id=None, program_id=None, limit=100, cursor=None
    )

    assert [(e.action, e.actor) for e in entries] == [
        ("blocklist.added", "alice"),
        ("blocklist.removed", "bob"),
    ]
    assert entries[0].after and entries[0].after["value_hash"] == entry.value_hash
    assert "farm-phone-7" not in json.dumps([e.model_dump(mode="json") for e in entries])


def test_a_removed_entry_no_longer_blocks(blocklist: BlocklistService, table: MemoryTable) -> None:
    entry = blocklist.add("device", "farm-phone-7", None, "alice")

    blocklist.remove(entry.entry_id, "alice")

    assert TableBlocklist(table).blocked("device", entry.value_hash) is None


def test_blocking_the_same_value_twice_is_a_conflict(
    blocklist: BlocklistService, table: MemoryTable
) -> None:
    blocklist.add("ip", "198.51.100.23", None, "alice")

    with pytest.raises(Conflict):
        blocklist.add("ip", " 198.51.100.23 ", None, "bob")

    assert _global_audit(table) == [("blocklist.added", "alice")]


def test_an_ip_that_is_not_an_address_names_the_value_field(
    blocklist: BlocklistService,
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        blocklist.add("ip", "not-an-ip", None, "alice")

    assert [e.field for e in refused.value.errors] == ["value"]


def test_removing_an_unknown_entry_is_not_found(blocklist: BlocklistService) -> None:
    with pytest.raises(NotFound):
        blocklist.remove("blk_unknown", "alice")


def test_entries_list_newest_first_in_pages(table: MemoryTable) -> None:
    clock = FixedClock(T0)
    service = services_on(table, clock).blocklist_entries
    added = []
    for n in range(3):
        added.append(service.add("device", f"device-{n}", None, "alice").entry_id)
        clock.advance(timedelta(minutes=1))

    first, cursor = service.list(2, None)
    rest, end = service.list(2, cursor)

    assert [e.entry_id for e in first + rest] == list(reversed(added))
    assert end is None
