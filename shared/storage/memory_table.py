"""An in-memory `Table` with DynamoDB's conditional and transactional semantics."""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from shared.storage.table import (
    INDEX_KEYS,
    Check,
    ConditionFailed,
    Delete,
    Item,
    KeyRange,
    Page,
    Put,
    WriteOp,
    cursor_key_names,
    decode_cursor,
    encode_cursor,
    evaluate,
    in_key_range,
)


class MemoryTable:
    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Item] = {}
        # index name -> partition value -> set of base keys; sorted at query time.
        self._partitions: dict[str | None, dict[str, set[tuple[str, str]]]] = {
            name: defaultdict(set) for name in INDEX_KEYS
        }
        self._lock = threading.RLock()

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        # One copy of every item: an eventually consistent read here never lags.
        with self._lock:
            item = self._items.get((pk, sk))
            return copy.deepcopy(item) if item is not None else None

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        key_range: KeyRange | None = None,
        forward: bool = True,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        _, sk_name = INDEX_KEYS[index]
        with self._lock:
            rows = [self._items[key] for key in self._partitions[index].get(pk, ())]
            rows = [r for r in rows if sk_name in r and in_key_range(str(r[sk_name]), key_range)]

            def position(row: Item) -> tuple[str, str, str]:
                return (str(row[sk_name]), row["pk"], row["sk"])

            rows.sort(key=position, reverse=not forward)
            if cursor is not None:
                after = decode_cursor(cursor, cursor_key_names(index))
                marker = (after[sk_name], after["pk"], after["sk"])
                rows = [
                    r for r in rows if (position(r) > marker if forward else position(r) < marker)
                ]
            next_cursor = None
            if limit is not None and len(rows) > limit:
                rows = rows[:limit]
                last = rows[-1]
                next_cursor = encode_cursor({k: last[k] for k in cursor_key_names(index)})
            return Page(items=copy.deepcopy(rows), cursor=next_cursor)

    def write(self, ops: Sequence[WriteOp]) -> None:
        with self._lock:
            staged: dict[tuple[str, str], Item | None] = {}
            for index, op in enumerate(ops):
                key = _key_of(op)
                current = staged[key] if key in staged else self._items.get(key)
                if not evaluate(op.condition, current):
                    raise ConditionFailed(index, op)
                staged[key] = _apply(op, current)
            for key, item in staged.items():
                self._store(key, item)

    def all_items(self) -> list[Item]:
        with self._lock:
            return copy.deepcopy(list(self._items.values()))

    def _store(self, key: tuple[str, str], item: Item | None) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            for name, (pk_name, sk_name) in INDEX_KEYS.items():
                if pk_name in old and sk_name in old:
                    self._partitions[name][str(old[pk_name])].discard(key)
        if item is None:
            return
        self._items[key] = item
        for name, (pk_name, sk_name) in INDEX_KEYS.items():
            if pk_name in item and sk_name in item:
                self._partitions[name][str(item[pk_name])].add(key)


def _key_of(op: WriteOp) -> tuple[str, str]:
    if isinstance(op, Put):
        return (op.item["pk"], op.item["sk"])
    return (op.pk, op.sk)


def _apply(op: WriteOp, current: Item | None) -> Item | None:
    if isinstance(op, Check):
        return current
    if isinstance(op, Delete):
        return None
    if isinstance(op, Put):
        return _normalise(copy.deepcopy(op.item))
    item: Item = copy.deepcopy(current) if current is not None else {"pk": op.pk, "sk": op.sk}
    for name, value in op.set.items():
        item[name] = copy.deepcopy(value)
    for name, delta in op.add.items():
        item[name] = item.get(name, Decimal(0)) + delta
    for name in op.remove:
        item.pop(name, None)
    return _normalise(item)


def _normalise(item: Item) -> Item:
    """DynamoDB stores no None values and returns every number as Decimal."""
    return {k: _number(v) for k, v in item.items() if v is not None}


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        raise TypeError("floats are not stored; use Decimal")
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value
