"""`POST /_local/model`: list, promote and roll back the local stack's served model.

The pointer lives in the stack's own table (saved with its state directory); a version
directory promoted by path is copied into the stack's models folder first, never into
the checkout's tracked `models/`. After a change the served model reads the pointer at
once, so the next scored referral already carries the new version.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

from shared import wiring
from shared.domain.model_versions import (
    ActiveModelMoved,
    AlreadyActive,
    ModelPointer,
    ModelVersionUnavailable,
    NothingToRollBack,
)
from shared.local.gateway import GatewayError

MODELS_DIRNAME = "models"
ACTIONS = ("list", "promote", "rollback")


class LocalModelControl:
    def __init__(self, bundled: Path, published: Path) -> None:
        from shared.adapters.model_store import DirectoryModelStore

        self.published = published
        self._store = DirectoryModelStore(bundled, published)

    def __call__(self, document: Any, actor: str) -> dict[str, Any]:
        if not isinstance(document, dict) or document.get("action") not in ACTIONS:
            raise GatewayError(
                HTTPStatus.UNPROCESSABLE_ENTITY, f"action: one of {', '.join(ACTIONS)}"
            )
        from shared.bootstrap import model_registry

        registry = model_registry(wiring.table(), self._store, wiring.clock())
        try:
            if document["action"] == "promote":
                self._promote(registry, document, actor)
            elif document["action"] == "rollback":
                registry.rollback(actor)
        except ActiveModelMoved as exc:
            raise GatewayError(HTTPStatus.CONFLICT, str(exc)) from None
        except (ModelVersionUnavailable, AlreadyActive, NothingToRollBack) as exc:
            raise GatewayError(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc)) from None
        _serve_the_active_version()
        return {
            "active": registry.active(),
            "history": registry.history(),
            "versions": registry.versions(),
        }

    def _promote(self, registry: Any, document: dict[str, Any], actor: str) -> ModelPointer:
        version, path = document.get("version"), document.get("path")
        if path is not None:
            version = self._store.publish(Path(str(path)))
        if not isinstance(version, str) or not version:
            raise GatewayError(HTTPStatus.UNPROCESSABLE_ENTITY, "version: a version name")
        pointer: ModelPointer = registry.promote(version, actor)
        return pointer


def _serve_the_active_version() -> None:
    from shared.adapters.active_model import ActiveModel

    served = wiring.model()
    if isinstance(served, ActiveModel):
        served.refresh()
