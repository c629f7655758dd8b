"""Reading a partition that is split into shards, as if it were one.

A list route pages a sharded partition with `merged_page`: each shard is queried from its
own position, the pages are merged in sort-key order and the first `limit` items
returned; the cursor carries every shard's position (a shard read to its end is dropped
from it). A job walks the shards with `merged_items`, a lazy k-way merge that reads each
shard one page at a time. Both order items as one partition would: by the index sort
key, then the base keys.
"""

from __future__ import annotations

import base64
import heapq
import json
from collections.abc import Iterator, Sequence
from typing import Any

from shared.storage.table import (
    INDEX_KEYS,
    InvalidCursor,
    Item,
    KeyRange,
    Page,
    Table,
    cursor_key_names,
    encode_cursor,
)

_START = ""  # a shard not read yet


def _order(index: str | None) -> Any:
    _, sk_name = INDEX_KEYS[index]

    def position(item: Item) -> tuple[str, str, str]:
        return (str(item[sk_name]), str(item["pk"]), str(item["sk"]))

    return position


def _encode(positions: dict[str, str]) -> str:
    raw = json.dumps(positions, sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, partitions: Sequence[str]) -> dict[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("cursor is not valid") from exc
    if not isinstance(data, dict) or not set(data) <= set(partitions) or not data:
        raise InvalidCursor("cursor is not valid")
    if not all(isinstance(v, str) for v in data.values()):
        raise InvalidCursor("cursor is not valid")
    return data


def merged_page(
    table: Table,
    partitions: Sequence[str],
    *,
    index: str | None,
    key_range: KeyRange | None = None,
    forward: bool = True,
    limit: int = 100,
    cursor: str | None = None,
) -> Page:
    positions = _decode(cursor, partitions) if cursor else dict.fromkeys(partitions, _START)
    position = _order(index)
    fetched: dict[str, Page] = {}
    rows: list[tuple[Any, str, Item]] = []
    for partition, at in positions.items():
        page = table.query(
            partition,
            index=index,
            key_range=key_range,
            forward=forward,
            limit=limit,
            cursor=at or None,
        )
        fetched[partition] = page
        rows += [(position(item), partition, item) for item in page.items]
    rows.sort(key=lambda row: row[0], reverse=not forward)
    taken, rest = rows[:limit], rows[limit:]
    last: dict[str, Item] = {}
    for _, partition, item in taken:
        last[partition] = item
    left = {partition for _, partition, _ in rest}
    following: dict[str, str] = {}
    names = cursor_key_names(index)
    for partition, page in fetched.items():
        if partition in left:
            stop = last.get(partition)
            following[partition] = (
                encode_cursor({k: stop[k] for k in names}) if stop else positions[partition]
            )
        elif page.cursor is not None:
            following[partition] = page.cursor
    items = [item for _, _, item in taken]
    return Page(items=items, cursor=_encode(following) if following else None)


def _walk(
    table: Table, partition: str, index: str | None, key_range: KeyRange | None, page_size: int
) -> Iterator[Item]:
    cursor: str | None = None
    while True:
        page = table.query(
            partition, index=index, key_range=key_range, limit=page_size, cursor=cursor
        )
        yield from page.items
        if page.cursor is None:
            return
        cursor = page.cursor


def merged_items(
    table: Table,
    partitions: Sequence[str],
    *,
    index: str | None,
    key_range: KeyRange | None = None,
    page_size: int = 100,
) -> Iterator[Item]:
    """Every item of the shards in ascending sort-key order, reading a page at a time."""
    walks = [_walk(table, p, index, key_range, page_size) for p in partitions]
    yield from heapq.merge(*walks, key=_order(index))
