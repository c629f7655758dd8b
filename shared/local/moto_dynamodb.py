"""moto's DynamoDB made fit for concurrent callers and tables of thousands of items.

Three changes to moto 5.2.5, installed once per process by `install()`:

* One lock around every DynamoDB request (and around the backend's transaction), so
  no read sees half of a transaction and no iteration over a table races a writer.
  Unpatched, 8 concurrent clients made 157 of 200 referral writes fail with
  "dictionary changed size during iteration" inside `transact_write_items`.
* `transact_write_items` snapshots only the items it touches (a deep copy of each, taken
  before the first write to it) and puts them back, or deletes them, on cancel. moto
  deep-copies the whole table once per transaction item, so every write cost O(table):
  a sequential replay fell from ~107 to ~24 requests/min within 8 minutes.
* `Query` looks at the items of one partition (or of one index partition) instead of
  sorting the whole table on every call. Index partitions are kept in a side index
  refreshed for the keys written since the last query; moto derives index contents
  from the items, so the side index is derived state too and is rebuilt whenever the
  table's items are replaced or a request could have changed them behind its back.

The patch is written against one moto version (`PATCHED_MOTO_VERSION`); a test fails
when the installed version differs, so an upgrade forces a re-read of the code patched.
"""

from __future__ import annotations

import copy
import functools
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

PATCHED_MOTO_VERSION = "5.2.5"
# Every DynamoDB request and backend transaction holds it; reentrant because a request
# handler calls backend methods that take it again.
BACKEND_LOCK = threading.RLock()
MAX_TRANSACTION_ITEMS = 100
_OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})
# Requests that change items only through Table.put_item, Table.delete_item or
# DynamoDBBackend.update_item (all of which mark what they touch); any other request
# drops the side indexes, which are rebuilt on the next query.
_INDEX_SAFE_ACTIONS = frozenset(
    {
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "DescribeTable",
        "DescribeTimeToLive",
        "GetItem",
        "ListTables",
        "ListTagsOfResource",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
    }
)

PrimaryKey = tuple[DynamoType, DynamoType | None]
_installed = False


# Transactions


@dataclass
class _Snapshot:
    """An item as it was before the transaction first touched it (None: absent)."""

    table: Table
    key: PrimaryKey
    item: Item | None


@dataclass
class _Transaction:
    backend: DynamoDBBackend
    snapshots: list[_Snapshot] = field(default_factory=list)
    targets: set[tuple[str, str]] = field(default_factory=set)
    stream_lengths: dict[int, tuple[Any, int]] = field(default_factory=dict)

    def claim(self, table_name: str, key: dict[str, Any]) -> None:
        """Refuse a second operation on one item, as DynamoDB does."""
        target = (str(table_name), str(dict(sorted(key.items()))))
        if target in self.targets:
            raise MultipleTransactionsException()
        self.targets.add(target)

    def snapshot(self, table_name: str, key: dict[str, Any]) -> None:
        table = self.backend.get_table(table_name)
        hash_value, range_value = self.backend.get_keys_value(table, key)
        current = table.get_item(hash_value, range_value)
        self.snapshots.append(_Snapshot(table, (hash_value, range_value), copy.deepcopy(current)))
        shard = table.stream_shard
        if shard is not None and id(table) not in self.stream_lengths:
            self.stream_lengths[id(table)] = (shard, len(shard.items))

    def roll_back(self) -> None:
        for snapshot in reversed(self.snapshots):
            _restore(snapshot)
        for shard, length in self.stream_lengths.values():
            del shard.items[length:]


def _restore(snapshot: _Snapshot) -> None:
    table, (hash_value, range_value), item = snapshot.table, snapshot.key, snapshot.item
    if table.range_key_attr is not None:
        partition = table.items.get(hash_value)
        if item is not None:
            table.items[hash_value][range_value] = item
        elif partition is not None:
            partition.pop(range_value, None)
            if not partition:
                del table.items[hash_value]
    elif item is not None:
        table.items[hash_value] = item  # type: ignore[assignment]
    else:
        table.items.pop(hash_value, None)
    _mark(table, (hash_value, range_value))


class _ConditionFailed(ConditionalCheckFailed):
    """A condition that failed, with the item as it was when ALL_OLD was asked for."""

    def __init__(self, old_item: dict[str, Any] | None) -> None:
        super().__init__(item=old_item)
        self.old_item = old_item


def _operation_key(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    """One operation, exactly as moto's own transact_write_items applies it."""
    table_name = op["TableName"]
    condition = op.get("ConditionExpression")
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    current = backend.get_item(table_name, key)
    if condition is not None and not get_filter_expression(condition, names, values).expr(current):
        old = None
        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
            old = current.to_json()["Attributes"]
        raise _ConditionFailed(old)
    if op_type == "Put":
        backend.put_item(
            table_name,
            op["Item"],
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )
    elif op_type == "Delete":
        backend.delete_item(
            table_name,
            key,
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )
    elif op_type == "Update":
        backend.update_item(
            table_name,
            key,
            update_expression=op["UpdateExpression"],
            condition_expression=condition,
            expression_attribute_names=names,  # type: ignore[arg-type]
            expression_attribute_values=values,  # type: ignore[arg-type]
        )


def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """All or nothing, with one cancellation reason per item in request order."""
    if len(transact_items) > MAX_TRANSACTION_ITEMS:
        raise TooManyTransactionsException()
    with BACKEND_LOCK:
        transaction = _Transaction(backend)
        try:
            errors = [_attempt(transaction, item) for item in transact_items]
        except BaseException:
            transaction.roll_back()
            raise
        if any(code is not None for code, _, _ in errors):
            transaction.roll_back()
            raise TransactionCanceledException(errors)


def _attempt(
    transaction: _Transaction, item: dict[str, Any]
) -> tuple[str, str, Any] | tuple[None, None, None]:
    """(None, None, None) when the operation applied, else its cancellation reason.

    Validation errors (two operations on one item, a malformed request) cancel the
    whole request instead, as they do in moto and DynamoDB.
    """
    if len(item) > 1:
        raise TransactWriteSingleOpException
    old_item = None
    try:
        op_type, op = next(iter(item.items()))
        if op_type not in _OPERATIONS:
            raise ValueError("Unsupported transaction operation")
        key = _operation_key(transaction.backend, op_type, op)
        transaction.claim(op["TableName"], key)
        transaction.snapshot(op["TableName"], key)
        _apply(transaction.backend, op_type, op, key)
    except MockValidationException:
        raise
    except ConditionalCheckFailed as failed:
        old_item = failed.old_item if isinstance(failed, _ConditionFailed) else None
        return ("ConditionalCheckFailed", str(failed.message), old_item)
    except Exception as error:
        return (type(error).__name__, str(error), old_item)
    return (None, None, None)


# Query side index


@dataclass
class _IndexPartitions:
    """For one table: index name -> index hash values -> primary key -> item."""

    items_ref: Any
    schema: tuple[tuple[str, tuple[str, ...]], ...]
    partitions: dict[str, dict[tuple[DynamoType, ...], dict[PrimaryKey, Item]]]
    entries: dict[PrimaryKey, list[tuple[str, tuple[DynamoType, ...]]]]
    dirty: set[PrimaryKey] = field(default_factory=set)

    def refresh(self, table: Table) -> None:
        for key in self.dirty:
            for index_name, values in self.entries.pop(key, []):
                bucket = self.partitions[index_name].get(values)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del self.partitions[index_name][values]
            item = _current_item(table, key)
            if item is not None:
                self._add(key, item)
        self.dirty.clear()

    def _add(self, key: PrimaryKey, item: Item) -> None:
        placed = []
        for index_name, hash_attrs in self.schema:
            if all(a in item.attrs for a in hash_attrs):
                values = tuple(item.attrs[a] for a in hash_attrs)
                self.partitions[index_name].setdefault(values, {})[key] = item
                placed.append((index_name, values))
        if placed:
            self.entries[key] = placed


_side_indexes: weakref.WeakKeyDictionary[Table, _IndexPartitions] = weakref.WeakKeyDictionary()


def _index_schema(table: Table) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (index.name, tuple(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"))
        for index in table.all_indexes()
    )


def _current_item(table: Table, key: PrimaryKey) -> Item | None:
    hash_value, range_value = key
    found = table.items.get(hash_value)
    if table.range_key_attr is None:
        return found if isinstance(found, Item) else None
    return found.get(range_value) if found is not None else None


def _side_index(table: Table) -> _IndexPartitions:
    schema = _index_schema(table)
    index = _side_indexes.get(table)
    if index is None or index.items_ref is not table.items or index.schema != schema:
        index = _IndexPartitions(table.items, schema, {name: {} for name, _ in schema}, {})
        for item in _all_items_unpatched(table):
            index._add((item.hash_key, item.range_key), item)
        _side_indexes[table] = index
    index.refresh(table)
    return index


def _mark(table: Table, key: PrimaryKey) -> None:
    index = _side_indexes.get(table)
    if index is not None:
        index.dirty.add(key)


def _drop_side_indexes() -> None:
    _side_indexes.clear()


def _sorted_like_all_items(items: Iterable[Item]) -> list[Item]:
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _query_candidates(
    table: Table,
    hash_key: DynamoType | None,
    index_name: str | None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None,
) -> list[Item] | None:
    """The only items a query can match, in all_items() order; None: all of them."""
    if not index_name:
        if hash_key is None:
            return None
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        if table.range_key_attr is None:
            return [partition] if isinstance(partition, Item) else []
        return _sorted_like_all_items(partition.values())
    index = _side_index(table)
    hash_attrs = dict(index.schema).get(index_name)
    conditions = dict(hash_key_conditions or [])
    if not hash_attrs or set(conditions) != set(hash_attrs):
        return None
    values = tuple(conditions[a] for a in hash_attrs)
    return _sorted_like_all_items(index.partitions[index_name].get(values, {}).values())


# Installing


_all_items_unpatched: Callable[[Table], list[Item]] = Table.all_items


def _patched_all_items(self: Table) -> list[Item]:
    candidates = self.__dict__.get("_query_candidates")
    if candidates is not None:
        return list(candidates)
    return _all_items_unpatched(self)


def _patch_query(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
        with BACKEND_LOCK:
            index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
            candidates = _query_candidates(
                self, hash_key, index_name, kwargs.get("hash_key_conditions")
            )
            if candidates is None:
                return original(self, hash_key, *args, **kwargs)
            self.__dict__["_query_candidates"] = candidates
            try:
                return original(self, hash_key, *args, **kwargs)
            finally:
                del self.__dict__["_query_candidates"]

    return query


def _patch_put(original: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(original)
    def put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        with BACKEND_LOCK:
            item = original(self, *args, **kwargs)
            _mark(self, (item.hash_key, item.range_key))
            return item

    return put_item


def _patch_delete(original: Callable[..., Item | None]) -> Callable[..., Item | None]:
    @functools.wraps(original)
    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Any:
        with BACKEND_LOCK:
            try:
                return original(self, hash_key, range_key)
            finally:
                _mark(self, (hash_key, range_key if self.range_key_attr else None))

    return delete_item


def _patch_update(original: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(original)
    def update_item(
        self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Item:
        with BACKEND_LOCK:
            try:
                return original(self, table_name, key, *args, **kwargs)
            finally:
                _mark_update(self, table_name, key)

    return update_item


def _mark_update(backend: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> None:
    """An update may change index attributes in place, even when it fails half way."""
    try:
        table = backend.get_table(table_name)
        hash_value, range_value = backend.get_keys_value(table, key)
    except Exception:
        _drop_side_indexes()
        return
    _mark(table, (hash_value, range_value))


def _patch_call_action(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def call_action(self: DynamoHandler) -> Any:
        with BACKEND_LOCK:
            try:
                return original(self)
            finally:
                if self.get_endpoint_name(self.headers) not in _INDEX_SAFE_ACTIONS:
                    _drop_side_indexes()

    return call_action


def install() -> None:
    """Patch moto's DynamoDB in this process; calling it again does nothing."""
    global _installed
    with BACKEND_LOCK:
        if _installed:
            return
        DynamoHandler.call_action = _patch_call_action(DynamoHandler.call_action)  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign,assignment]
        DynamoDBBackend.update_item = _patch_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]
        Table.put_item = _patch_put(Table.put_item)  # type: ignore[method-assign]
        Table.delete_item = _patch_delete(Table.delete_item)  # type: ignore[method-assign]
        Table.query = _patch_query(Table.query)  # type: ignore[method-assign]
        Table.all_items = _patched_all_items  # type: ignore[method-assign]
        _installed = True


def installed() -> bool:
    return _installed
