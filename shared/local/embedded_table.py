"""The local stack's embedded table engine: one in-process `MemoryTable` every function
shares, checked against the template's table definition and kept across restarts as JSON
lines in the state directory.

Over moto each referral cost ~56 DynamoDB requests of ~3.4 ms CPU each in the moto
process (~190 ms), holding 8 clients to 2.4-3.8 referrals/s on two cores; in process an
operation costs microseconds and the handlers' own work is what remains.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.storage.memory_table import MemoryTable
from shared.storage.table import INDEX_KEYS, Item

TABLE_LOGICAL_ID = "Table"
STATE_FILENAME = "table.jsonl"


class TableSchemaMismatch(RuntimeError):
    """The template's table has other keys or indexes than the embedded engine serves."""


def _key_pair(key_schema: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    kinds = {k.get("KeyType"): k.get("AttributeName") for k in key_schema or []}
    return kinds.get("HASH"), kinds.get("RANGE")


def template_indexes(template: dict[str, Any], logical_id: str = TABLE_LOGICAL_ID) -> dict:
    """The template table's base key and GSIs as {index name or None: (pk attr, sk attr)}."""
    resource = template.get("Resources", {}).get(logical_id)
    if not resource or resource.get("Type") != "AWS::DynamoDB::Table":
        raise TableSchemaMismatch(f"the template has no AWS::DynamoDB::Table {logical_id!r}")
    properties = resource.get("Properties", {})
    indexes: dict[str | None, tuple[str | None, str | None]] = {
        None: _key_pair(properties.get("KeySchema", []))
    }
    for gsi in properties.get("GlobalSecondaryIndexes", []) or []:
        indexes[gsi.get("IndexName")] = _key_pair(gsi.get("KeySchema", []))
    return indexes


def check_schema(template: dict[str, Any], logical_id: str = TABLE_LOGICAL_ID) -> None:
    """Fail unless the template's table has exactly the keys and GSIs the engine serves."""
    found = template_indexes(template, logical_id)
    if found != INDEX_KEYS:
        raise TableSchemaMismatch(
            f"template table {logical_id!r} has keys {_describe(found)}, but the embedded "
            f"engine serves {_describe(dict(INDEX_KEYS))}; run `rewards serve --engine moto` "
            "or align the template"
        )


def _describe(indexes: dict[str | None, Any]) -> str:
    return ", ".join(f"{name or 'base'}={keys}" for name, keys in sorted(indexes.items(), key=str))


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__decimal__": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, set | frozenset):
        return {"__set__": [_encode(v) for v in sorted(value, key=str)]}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__decimal__"}:
            return Decimal(value["__decimal__"])
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        if set(value) == {"__set__"}:
            return {_decode(v) for v in value["__set__"]}
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class EmbeddedTable(MemoryTable):
    """A `MemoryTable` that saves to and loads from a JSON-lines file."""

    def save(self, path: Path) -> int:
        """Write every item atomically (a temp file renamed over `path`), readable only by
        the owner since items hold hashed personal data; returns the count."""
        items = self.all_items()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                for item in items:
                    fh.write(json.dumps(_encode(item), sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return len(items)

    def load(self, path: Path) -> int:
        """Add the items saved at `path` (none if it does not exist); returns the count."""
        if not path.is_file():
            return 0
        count = 0
        with path.open() as fh, self._lock:
            for line in fh:
                if not line.strip():
                    continue
                item: Item = _decode(json.loads(line))
                self._store((item["pk"], item["sk"]), item)
                count += 1
        return count
