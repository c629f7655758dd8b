"""Lists over a partition split into shards read as one partition would: in sort-key
order, page by page, with a cursor that resumes every shard where it stopped."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.audit import AuditEntry
from shared.repositories.audit import AuditLog
from shared.repositories.sharded import merged_items, merged_page
from shared.storage.memory_table import MemoryTable
from shared.storage.table import InvalidCursor, Item, KeyRange, Put
from tests.support import T0, unique

SHARDS = [f"LIST#{n:02d}" for n in range(4)]


def _listed(table: MemoryTable, count: int) -> list[Item]:
    """`count` items spread unevenly over the shards (one shard stays empty)."""
    written = []
    for n in range(count):
        item = {
            "pk": f"ITEM#{n:03d}",
            "sk": "ITEM",
            "gsi1pk": SHARDS[n * n % 3],
            "gsi1sk": f"{(n * 37) % 101:03d}",
        }
        table.write([Put(item)])
        written.append(item)
    return sorted(written, key=lambda i: (i["gsi1sk"], i["pk"], i["sk"]))


def _pages(table: MemoryTable, *, forward: bool, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = merged_page(table, SHARDS, index="gsi1", forward=forward, limit=limit, cursor=cursor)
        pages.append([item["pk"] for item in page.items])
        if page.cursor is None:
            return pages
        cursor = page.cursor


@pytest.mark.parametrize("forward", [True, False])
def test_paging_the_shards_lists_every_item_once_in_sort_key_order(forward: bool) -> None:
    # Given 50 items over four shards
    table = MemoryTable()
    expected = [item["pk"] for item in _listed(table, 50)]
    if not forward:
        expected.reverse()

    # When they are paged seven at a time
    pages = _pages(table, forward=forward, limit=7)

    # Then the pages, joined, are the one-partition order, and only the last is short
    assert [pk for page in pages for pk in page] == expected
    assert all(len(page) == 7 for page in pages[:-1])


def test_a_cursor_the_list_did_not_issue_is_refused() -> None:
    table = MemoryTable()
    _listed(table, 5)

    with pytest.raises(InvalidCursor):
        merged_page(table, SHARDS, index="gsi1", limit=2, cursor="bm90LWEtY3Vyc29y")


def test_a_job_walks_the_shards_in_sort_key_order_within_a_range() -> None:
    # Given 50 items over four shards
    table = MemoryTable()
    expected = [i["pk"] for i in _listed(table, 50) if "020" <= i["gsi1sk"] <= "070"]

    # When a job walks the range three items a page
    walked = merged_items(
        table, SHARDS, index="gsi1", key_range=KeyRange(low="020", high="070"), page_size=3
    )

    # Then it meets the range's items in order
    assert [item["pk"] for item in walked] == expected


def test_a_programs_audit_trail_pages_oldest_first_across_its_shards() -> None:
    # Given 30 audit entries of one program, a minute apart
    table = MemoryTable()
    log = AuditLog(table)
    program_id = unique("prg")
    for n in range(30):
        entry = AuditEntry(
            entry_id=unique("aud"),
            at=T0 + timedelta(minutes=n),
            actor="tester",
            action="program.updated",
            program_id=program_id,
        )
        table.write([log.entry_op(entry)])

    # When finance pages the trail eight at a time
    seen, cursor = [], None
    while True:
        entries, cursor = log.for_program(program_id, limit=8, cursor=cursor)
        seen += [e.at for e in entries]
        if cursor is None:
            break

    # Then every entry comes once, oldest first
    assert seen == [T0 + timedelta(minutes=n) for n in range(30)]
