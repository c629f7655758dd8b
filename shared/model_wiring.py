"""Builds the model registry and the served model from a table and the configured stores.

The functions (`shared.wiring.model`), the local stack's control endpoint and the
`rewards model` commands all find the stores here, and build the registry with
`shared.bootstrap.model_registry`, so each sees the same pointer and stores.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.adapters.active_model import ActiveModel
    from shared.adapters.model_store import SearchedModelStores
    from shared.clock import Clock
    from shared.config import Settings
    from shared.services.model_registry import ModelStore
    from shared.storage.table import Table


def configured_store(settings: Settings, s3_client: Any = None) -> SearchedModelStores:
    """The bundled `model_dir` and the local published folder, then the bucket if one is
    configured."""
    from shared.adapters.model_store import (
        DirectoryModelStore,
        S3ModelStore,
        SearchedModelStores,
    )

    published = Path(settings.model_store_dir) if settings.model_store_dir else None
    stores: list[DirectoryModelStore | S3ModelStore] = [
        DirectoryModelStore(Path(settings.model_dir), published)
    ]
    if settings.model_bucket:
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        stores.append(S3ModelStore(settings.model_bucket, s3_client))
    return SearchedModelStores(stores)


def served_model(table: Table, store: ModelStore, clock: Clock) -> ActiveModel | None:
    """The judge that follows the active pointer; None when no version is active or
    bundled, so scoring decides on rules alone."""
    from shared.adapters.active_model import ActiveModel
    from shared.bootstrap import model_registry
    from shared.services.model_registry import load_version

    registry = model_registry(table, store, clock)
    served = ActiveModel(registry.active, lambda version: load_version(store, version), clock)
    if registry.active() is None:
        return None
    served.refresh()
    return served
