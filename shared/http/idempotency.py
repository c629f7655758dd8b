"""Idempotency-Key handling on Powertools' idempotency utility, stored in the main table.

The key is scoped by caller, route and path, and the stored record also carries a hash of
the parsed body: the same key with the same body returns the first response, another body
or a copy still in flight is a conflict.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import (
        BasePersistenceLayer,
        IdempotencyConfig,
    )
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shared.storage.table import Table

RETENTION_SECONDS = 24 * 3600

# Powertools' idempotency utility is imported on the first keyed POST, not with the module:
# it loads boto3 and its DynamoDB persistence, about 75 ms of every HTTP function's cold
# import, which GETs and unkeyed requests never use.
_store: BasePersistenceLayer | None = None
_context: LambdaContext | None = None


@lru_cache(maxsize=1)
def _config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="scope",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RETENTION_SECONDS,
    )


# Records spread over 256 partition keys by a hash of the key: every POST writes one
# record twice (in progress, then done), ~3 WCU, so one shared key would cap the API at
# ~330 POSTs a second; 256 shards leave each ~12 WCU/s at 1,000 POSTs a second.
IDEMPOTENCY_SHARDS = 256


def record_key(idempotency_key: str) -> tuple[str, str]:
    """The table key of one idempotency record."""
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return (f"IDEMPOTENCY#{digest[0] % IDEMPOTENCY_SHARDS:02x}", idempotency_key)


class KeyReused(Exception):
    """The Idempotency-Key was used with another body, or its first use is still running."""


# The attribute names Powertools' DynamoDB layer writes, so a record reads the same
# whichever layer wrote it.
_EXPIRES_AT = "expires_at"
_IN_PROGRESS_EXPIRY = "in_progress_expiration"
_STATUS = "status"
_DATA = "data"
_VALIDATION = "validation"


def table_persistence(table: Table) -> BasePersistenceLayer:
    """Powertools' persistence over the `Table` port, for a process whose functions share
    one table engine (the local stack): the same records, keys and conditional writes as
    the DynamoDB layer, without a DynamoDB client."""
    return _table_persistence_class()(table)


def _to_record(item: dict[str, Any]) -> DataRecord:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    in_progress = item.get(_IN_PROGRESS_EXPIRY)
    return DataRecord(
        idempotency_key=str(item["sk"]),
        status=str(item[_STATUS]),
        expiry_timestamp=int(item[_EXPIRES_AT]),
        in_progress_expiry_timestamp=int(in_progress) if in_progress is not None else None,
        response_data=str(item.get(_DATA) or ""),
        payload_hash=str(item.get(_VALIDATION) or ""),
    )


def _to_item(data_record: DataRecord) -> dict[str, Any]:
    """The item a first (in progress) record is put as."""
    pk, sk = record_key(data_record.idempotency_key)
    return {
        "pk": pk,
        "sk": sk,
        _EXPIRES_AT: data_record.expiry_timestamp,
        _STATUS: data_record.status,
        _IN_PROGRESS_EXPIRY: data_record.in_progress_expiry_timestamp,
        _VALIDATION: data_record.payload_hash or None,
    }


def _replaceable(item: dict[str, Any]) -> bool:
    """DynamoDB's put condition: the record expired, or its in-flight run timed out."""
    now = time.time()
    if int(item[_EXPIRES_AT]) < int(now):
        return True
    in_progress = item.get(_IN_PROGRESS_EXPIRY)
    return (
        item.get(_STATUS) == "INPROGRESS"
        and in_progress is not None
        and int(in_progress) < int(now * 1000)
    )


def _completion(data_record: DataRecord) -> dict[str, Any]:
    """The attributes a finished run sets on its record (absent ones are left alone)."""
    values = {
        _DATA: data_record.response_data,
        _EXPIRES_AT: data_record.expiry_timestamp,
        _STATUS: data_record.status,
        _VALIDATION: data_record.payload_hash or None,
    }
    return {k: v for k, v in values.items() if v is not None}


@lru_cache(maxsize=1)
def _table_persistence_class() -> Callable[[Table], BasePersistenceLayer]:
    # Defined on first use: its base class comes with Powertools' idempotency utility,
    # which the module does not import up front (see `_store`).
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyItemAlreadyExistsError,
        IdempotencyItemNotFoundError,
    )

    from shared.storage.table import ConditionFailed, Delete, Equals, NotExists, Put, Update

    class TablePersistence(BasePersistenceLayer):
        def __init__(self, table: Table) -> None:
            super().__init__()
            self._table = table

        def _get_record(self, idempotency_key: str) -> DataRecord:
            item = self._table.get(*record_key(idempotency_key))
            if item is None:
                raise IdempotencyItemNotFoundError
            return _to_record(item)

        def _put_record(self, data_record: DataRecord) -> None:
            item = _to_item(data_record)
            current = self._table.get(item["pk"], item["sk"])
            if current is not None and not _replaceable(current):
                old = _to_record(current)
                self._validate_payload(data_payload=data_record, stored_data_record=old)
                raise IdempotencyItemAlreadyExistsError(old_data_record=old)
            # Replace exactly the record judged replaceable, or none if another won the race.
            condition = (
                NotExists() if current is None else Equals(_EXPIRES_AT, current[_EXPIRES_AT])
            )
            try:
                self._table.write([Put(item, condition=condition)])
            except ConditionFailed as exc:
                raise IdempotencyItemAlreadyExistsError() from exc

        def _update_record(self, data_record: DataRecord) -> None:
            pk, sk = record_key(data_record.idempotency_key)
            self._table.write([Update(pk, sk, set=_completion(data_record))])

        def _delete_record(self, data_record: DataRecord) -> None:
            self._table.write([Delete(*record_key(data_record.idempotency_key))])

    return TablePersistence


def _persistence() -> BasePersistenceLayer:
    global _store
    if _store is None:
        from shared import wiring

        installed = wiring.installed_table()
        if installed is not None:
            _store = table_persistence(installed)
            return _store
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        class ShardedPersistence(DynamoDBPersistenceLayer):
            """Powertools' DynamoDB layer, with the partition key derived from the key."""

            def _get_key(self, idempotency_key: str) -> dict[str, Any]:
                pk, sk = record_key(idempotency_key)
                return {self.key_attr: {"S": pk}, str(self.sort_key_attr): {"S": sk}}

        _store = ShardedPersistence(
            table_name=wiring.settings().table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value="IDEMPOTENCY",
            expiry_attr="expires_at",
        )
    return _store


def forget_store() -> None:
    global _store
    _store = None


def register_context(context: LambdaContext) -> None:
    """The invocation's context, whose remaining time bounds an in-flight record's life."""
    global _context
    _context = context


def run_once(
    scope: str, payload: dict[str, Any], work: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = _config()
    if _context is not None:
        config.register_lambda_context(_context)

    @idempotent_function(
        data_keyword_argument="request", persistence_store=_persistence(), config=config
    )
    def execute(request: dict[str, Any]) -> dict[str, Any]:
        return work()

    try:
        return execute(request={"scope": scope, "payload": payload})
    except IdempotencyValidationError as exc:
        raise KeyReused("this Idempotency-Key was already used with a different body") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise KeyReused("a request with this Idempotency-Key is still being processed") from exc
