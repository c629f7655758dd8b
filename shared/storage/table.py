"""The table port: the subset of DynamoDB the repositories rely on.

Repositories are written once against this port. `MemoryTable` backs unit tests and the
backtest; `DynamoTable` backs Lambda and the local stack. Conditions are a tiny AST of our
own so the domain never builds DynamoDB expression strings.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from shared.errors import InvalidCursor as _InvalidCursor

Item = dict[str, Any]


# --- conditions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NotExists:
    """The item must not exist yet (create-once)."""


@dataclass(frozen=True)
class Exists:
    """The item must exist."""


@dataclass(frozen=True)
class Equals:
    attr: str
    value: Any


@dataclass(frozen=True)
class AtLeast:
    attr: str
    value: Decimal | int


@dataclass(frozen=True)
class AtMost:
    """The number is at most `value`; an absent item or attribute counts as zero (so a
    counter not yet written passes while `value` is not negative)."""

    attr: str
    value: Decimal | int


@dataclass(frozen=True)
class OneOf:
    attr: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Missing:
    """The attribute is absent on an existing item."""

    attr: str


@dataclass(frozen=True)
class All:
    conditions: tuple[Condition, ...]


Condition = NotExists | Exists | Equals | AtLeast | AtMost | OneOf | Missing | All


def evaluate(condition: Condition | None, item: Item | None) -> bool:
    """Evaluate a condition the way DynamoDB would against the current item."""
    if condition is None:
        return True
    if isinstance(condition, NotExists | Exists | All | AtMost):
        return _evaluate_whole(condition, item)
    if item is None:
        return False
    if isinstance(condition, Missing):
        return condition.attr not in item
    if condition.attr not in item:
        return False
    current = item[condition.attr]
    if isinstance(condition, Equals):
        return bool(current == condition.value)
    if isinstance(condition, AtLeast):
        return bool(current >= condition.value)
    return current in condition.values


def _evaluate_whole(condition: NotExists | Exists | All | AtMost, item: Item | None) -> bool:
    """Conditions that hold or fail on an absent item too."""
    if isinstance(condition, NotExists):
        return item is None
    if isinstance(condition, Exists):
        return item is not None
    if isinstance(condition, All):
        return all(evaluate(c, item) for c in condition.conditions)
    return bool((item or {}).get(condition.attr, 0) <= condition.value)


# --- writes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Put:
    item: Item
    condition: Condition | None = None


@dataclass(frozen=True)
class Update:
    """SET attributes and ADD numeric deltas to one item (creating it if absent)."""

    pk: str
    sk: str
    set: Mapping[str, Any] = field(default_factory=dict)
    add: Mapping[str, Decimal | int] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    condition: Condition | None = None


@dataclass(frozen=True)
class Delete:
    pk: str
    sk: str
    condition: Condition | None = None


@dataclass(frozen=True)
class Check:
    pk: str
    sk: str
    condition: Condition


WriteOp = Put | Update | Delete | Check


class ConditionFailed(Exception):
    """A conditional write was refused; `index` is the refused operation's position."""

    def __init__(self, index: int, op: WriteOp) -> None:
        super().__init__(f"condition failed on operation {index}: {type(op).__name__}")
        self.index = index
        self.op = op


class TransactionConflict(Exception):
    """A concurrent transaction touched the same items; the caller may retry."""


# --- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRange:
    """Sort-key restriction: a prefix, or an inclusive range (both as strings)."""

    begins_with: str | None = None
    low: str | None = None
    high: str | None = None


def in_key_range(sk: str, key_range: KeyRange | None) -> bool:
    """Whether a sort key falls in the range, as DynamoDB's key condition would decide."""
    if key_range is None:
        return True
    if key_range.begins_with is not None and not sk.startswith(key_range.begins_with):
        return False
    if key_range.low is not None and sk < key_range.low:
        return False
    return key_range.high is None or sk <= key_range.high


@dataclass(frozen=True)
class Page:
    items: list[Item]
    cursor: str | None


# Defined with the other errors, so the HTTP layer maps it without loading the port.
InvalidCursor = _InvalidCursor


def encode_cursor(key: Mapping[str, Any]) -> str:
    raw = json.dumps({k: str(v) for k, v in key.items()}, sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected_keys: Sequence[str]) -> dict[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("cursor is not valid") from exc
    if not isinstance(data, dict) or sorted(data) != sorted(expected_keys):
        raise InvalidCursor("cursor is not valid")
    if not all(isinstance(v, str) for v in data.values()):
        raise InvalidCursor("cursor is not valid")
    return data


INDEX_KEYS: dict[str | None, tuple[str, str]] = {
    None: ("pk", "sk"),
    "gsi1": ("gsi1pk", "gsi1sk"),
    "gsi2": ("gsi2pk", "gsi2sk"),
}


def cursor_key_names(index: str | None) -> list[str]:
    names = {"pk", "sk", *INDEX_KEYS[index]}
    return sorted(names)


class Table(Protocol):
    """Strongly consistent base-table reads unless asked otherwise; indexes are eventual."""

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        """One item; `consistent=False` costs half the read capacity and may lag a write."""
        ...

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        key_range: KeyRange | None = None,
        forward: bool = True,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page: ...

    def write(self, ops: Sequence[WriteOp]) -> None:
        """Apply one operation, or several atomically (all or none)."""
        ...


def query_all(table: Table, pk: str, **kwargs: Any) -> list[Item]:
    """Every item under one partition key, following cursors."""
    items: list[Item] = []
    cursor: str | None = None
    while True:
        page = table.query(pk, cursor=cursor, **kwargs)
        items.extend(page.items)
        if page.cursor is None:
            return items
        cursor = page.cursor
