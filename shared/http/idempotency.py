"""Idempotency-Key handling on Powertools' idempotency utility, stored in the main table.

The key is scoped by caller, route and path, and the stored record also carries a hash of
the parsed body: the same key with the same body returns the first response, another body
or a copy still in flight is a conflict.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
    )
    from aws_lambda_powertools.utilities.typing import LambdaContext

RETENTION_SECONDS = 24 * 3600

# Powertools' idempotency utility is imported on the first keyed POST, not with the module:
# it loads boto3 and its DynamoDB persistence, about 75 ms of every HTTP function's cold
# import, which GETs and unkeyed requests never use.
_store: DynamoDBPersistenceLayer | None = None
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


def _persistence() -> DynamoDBPersistenceLayer:
    global _store
    if _store is None:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        class ShardedPersistence(DynamoDBPersistenceLayer):
            """Powertools' DynamoDB layer, with the partition key derived from the key."""

            def _get_key(self, idempotency_key: str) -> dict[str, Any]:
                pk, sk = record_key(idempotency_key)
                return {self.key_attr: {"S": pk}, str(self.sort_key_attr): {"S": sk}}

        _store = ShardedPersistence(
            table_name=os.environ["TABLE_NAME"],
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
