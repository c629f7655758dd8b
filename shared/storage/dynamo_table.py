"""`Table` on DynamoDB: conditional writes, TransactWriteItems, paginated queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.storage.table import (
    INDEX_KEYS,
    All,
    AtLeast,
    AtMost,
    Check,
    Condition,
    ConditionFailed,
    Delete,
    Equals,
    Exists,
    Item,
    KeyRange,
    Missing,
    NotExists,
    OneOf,
    Page,
    Put,
    TransactionConflict,
    Update,
    WriteOp,
    cursor_key_names,
    decode_cursor,
    encode_cursor,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class _Expression:
    """Accumulates placeholder names and values while rendering one request."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attr: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attr
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = _serializer.serialize(value)
        return placeholder

    def condition(self, condition: Condition) -> str:
        if isinstance(condition, NotExists):
            return f"attribute_not_exists({self.name('pk')})"
        if isinstance(condition, Exists):
            return f"attribute_exists({self.name('pk')})"
        if isinstance(condition, Missing):
            return (
                f"attribute_exists({self.name('pk')}) AND "
                f"attribute_not_exists({self.name(condition.attr)})"
            )
        if isinstance(condition, Equals):
            return f"{self.name(condition.attr)} = {self.value(condition.value)}"
        if isinstance(condition, AtLeast):
            return f"{self.name(condition.attr)} >= {self.value(condition.value)}"
        if isinstance(condition, AtMost):
            attr = self.name(condition.attr)
            return f"(attribute_not_exists({attr}) OR {attr} <= {self.value(condition.value)})"
        if isinstance(condition, OneOf):
            attr = self.name(condition.attr)
            options = ", ".join(self.value(v) for v in condition.values)
            return f"{attr} IN ({options})"
        if isinstance(condition, All):
            return " AND ".join(f"({self.condition(c)})" for c in condition.conditions)
        raise TypeError(f"unsupported condition {condition!r}")

    def key_condition(self, pk_name: str, pk: str, sk_name: str, key_range: KeyRange | None) -> str:
        """The partition key equals `pk`; with a range, the sort key meets it too."""
        pk_clause = f"{self.name(pk_name)} = {self.value(pk)}"
        if key_range is None:
            return pk_clause
        sk_attr = self.name(sk_name)
        if key_range.begins_with is not None:
            return f"{pk_clause} AND begins_with({sk_attr}, {self.value(key_range.begins_with)})"
        if key_range.low is not None and key_range.high is not None:
            low, high = self.value(key_range.low), self.value(key_range.high)
            return f"{pk_clause} AND {sk_attr} BETWEEN {low} AND {high}"
        if key_range.low is not None:
            return f"{pk_clause} AND {sk_attr} >= {self.value(key_range.low)}"
        if key_range.high is not None:
            return f"{pk_clause} AND {sk_attr} <= {self.value(key_range.high)}"
        return pk_clause

    def attach(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _serialize_item(item: Item) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def _deserialize_item(raw: dict[str, Any]) -> Item:
    return {k: _deserializer.deserialize(v) for k, v in raw.items()}


class DynamoTable:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client or boto3.client("dynamodb")

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        response = self._client.get_item(
            TableName=self.table_name, Key=_key(pk, sk), ConsistentRead=consistent
        )
        raw = response.get("Item")
        return _deserialize_item(raw) if raw else None

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
        pk_name, sk_name = INDEX_KEYS[index]
        expr = _Expression()
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": expr.key_condition(pk_name, pk, sk_name, key_range),
            "ScanIndexForward": forward,
        }
        if index is None:
            request["ConsistentRead"] = True
        else:
            request["IndexName"] = index
        expr.attach(request)
        if cursor is not None:
            start = decode_cursor(cursor, cursor_key_names(index))
            request["ExclusiveStartKey"] = {k: {"S": v} for k, v in start.items()}
        return self._read_until(request, limit)

    def _read_until(self, request: dict[str, Any], limit: int | None) -> Page:
        """Reads pages of `request` until `limit` items or the last page."""
        items: list[Item] = []
        # DynamoDB may stop a page early (1 MB); keep reading until `limit` is met.
        while True:
            if limit is not None:
                request["Limit"] = limit - len(items)
            response = self._client.query(**request)
            items.extend(_deserialize_item(raw) for raw in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if last is None:
                return Page(items=items, cursor=None)
            if limit is not None and len(items) >= limit:
                key = {k: _deserializer.deserialize(v) for k, v in last.items()}
                return Page(items=items, cursor=encode_cursor(key))
            request["ExclusiveStartKey"] = last

    def write(self, ops: Sequence[WriteOp]) -> None:
        if not ops:
            return
        if len(ops) == 1:
            self._write_one(ops[0])
            return
        try:
            self._client.transact_write_items(TransactItems=[self._transact_item(op) for op in ops])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            for index, reason in enumerate(reasons):
                if reason.get("Code") == "ConditionalCheckFailed":
                    raise ConditionFailed(index, ops[index]) from exc
            raise TransactionConflict(str(exc)) from exc

    def _write_one(self, op: WriteOp) -> None:
        request = self._request(op)
        try:
            if isinstance(op, Put):
                self._client.put_item(**request)
            elif isinstance(op, Update):
                self._client.update_item(**request)
            elif isinstance(op, Delete):
                self._client.delete_item(**request)
            else:
                # A lone check: read and evaluate (DynamoDB has no single ConditionCheck).
                self._client.transact_write_items(TransactItems=[{"ConditionCheck": request}])
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                raise ConditionFailed(0, op) from exc
            raise

    def _transact_item(self, op: WriteOp) -> dict[str, Any]:
        request = self._request(op)
        kind = {Put: "Put", Update: "Update", Delete: "Delete", Check: "ConditionCheck"}[type(op)]
        return {kind: request}

    def _request(self, op: WriteOp) -> dict[str, Any]:
        expr = _Expression()
        request: dict[str, Any] = {"TableName": self.table_name}
        if isinstance(op, Put):
            request["Item"] = _serialize_item(op.item)
        else:
            request["Key"] = _key(op.pk, op.sk)
        if isinstance(op, Update):
            clauses = []
            sets = [f"{expr.name(k)} = {expr.value(v)}" for k, v in op.set.items() if v is not None]
            removes = [expr.name(k) for k in op.remove]
            removes += [expr.name(k) for k, v in op.set.items() if v is None]
            adds = [f"{expr.name(k)} {expr.value(v)}" for k, v in op.add.items()]
            if sets:
                clauses.append("SET " + ", ".join(sets))
            if adds:
                clauses.append("ADD " + ", ".join(adds))
            if removes:
                clauses.append("REMOVE " + ", ".join(removes))
            request["UpdateExpression"] = " ".join(clauses)
        if op.condition is not None:
            request["ConditionExpression"] = expr.condition(op.condition)
        return expr.attach(request)
