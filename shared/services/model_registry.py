"""Choosing the model version scoring serves: promote one, roll back to the one before.

The active version is named in one place, the pointer; without one the bundled default
(`models/CURRENT`) serves, so a deployment that never promotes behaves as before. A
promotion loads the candidate first and refuses it if it cannot be served; each change is
committed with its audit entry, and only if the pointer has not moved since it was read:
of two concurrent promotions one wins and the other is told to look again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from shared.domain.audit import AuditEntry
from shared.domain.model_versions import (
    ModelPointer,
    ModelVersionUnavailable,
    NothingToRollBack,
    is_version_name,
)

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.repositories.unit_of_work import Changes, UnitOfWork
    from shared.scoring.serving import ModelJudge

PROMOTED = "model.promoted"
ROLLED_BACK = "model.rolled_back"


class ModelStore(Protocol):
    """Where versions' artifacts live (a directory, a bucket); versions are names."""

    def default_version(self) -> str | None:
        """The version shipped with the code (`models/CURRENT`), if any."""
        ...

    def versions(self) -> list[str]: ...

    def directory(self, version: str) -> Path:
        """A local directory holding the version's manifest and artifacts; raises
        `ModelVersionUnavailable` if the store has no such version."""
        ...


class ActivePointer(Protocol):
    def pointer(self) -> ModelPointer | None: ...

    def stage_save(self, pointer: ModelPointer, read_revision: int, *, within: Changes) -> None: ...


class AuditTrail(Protocol):
    def append(self, entry: AuditEntry, *, within: Changes) -> None: ...


def load_version(store: ModelStore, version: str) -> ModelJudge:
    """The judge of `version`, loaded and checked; `ModelVersionUnavailable` otherwise."""
    from shared.scoring.model import ModelError
    from shared.scoring.serving import load_judge

    if not is_version_name(version):
        raise ModelVersionUnavailable(version, "not a plain version name")
    directory = store.directory(version)
    try:
        judge = load_judge(directory)
    except (ModelError, ValueError, OSError) as exc:
        raise ModelVersionUnavailable(version, str(exc)) from exc
    if judge is None:
        raise ModelVersionUnavailable(version, f"no manifest in {directory}")
    if judge.version != version:
        # Decisions record the manifest's version: it must be the name it is promoted by.
        raise ModelVersionUnavailable(version, f"its manifest names version {judge.version!r}")
    return judge


class ModelRegistry:
    def __init__(
        self,
        pointers: ActivePointer,
        audit: AuditTrail,
        unit_of_work: UnitOfWork,
        store: ModelStore,
        clock: Clock,
    ) -> None:
        self._pointers = pointers
        self._audit = audit
        self._unit_of_work = unit_of_work
        self._store = store
        self._clock = clock

    def active(self) -> str | None:
        """The version scoring serves; None if none is active or bundled (rules only)."""
        pointer = self._current()
        return pointer.active if pointer is not None else None

    def history(self) -> list[str]:
        """The active version first, then the ones it replaced, newest first."""
        pointer = self._current()
        return pointer.history() if pointer is not None else []

    def versions(self) -> list[str]:
        """Every version the store holds."""
        return self._store.versions()

    def promote(self, version: str, actor: str) -> ModelPointer:
        """Serve `version` from now on; refused if it cannot be loaded (`ModelVersionUnavailable`),
        is active already (`AlreadyActive`) or the pointer moved meanwhile (`ActiveModelMoved`)."""
        read = self._current()
        load_version(self._store, version)
        at = self._clock.now()
        if read is None:
            changed = ModelPointer(active=version, revision=1, changed_at=at, changed_by=actor)
        else:
            changed = read.promoted(version, at, actor)
        self._commit(read, changed, PROMOTED, actor)
        return changed

    def rollback(self, actor: str) -> ModelPointer:
        """Serve the version the active one replaced (`NothingToRollBack` if none)."""
        read = self._current()
        if read is None:
            raise NothingToRollBack(None)
        changed = read.rolled_back(self._clock.now(), actor)
        self._commit(read, changed, ROLLED_BACK, actor)
        return changed

    def _current(self) -> ModelPointer | None:
        stored = self._pointers.pointer()
        if stored is not None:
            return stored
        default = self._store.default_version()
        return ModelPointer(active=default) if default is not None else None

    def _commit(
        self, read: ModelPointer | None, changed: ModelPointer, action: str, actor: str
    ) -> None:
        changes = self._unit_of_work.begin()
        self._pointers.stage_save(changed, read.revision if read else 0, within=changes)
        entry = AuditEntry.record(
            self._clock.now(),
            actor,
            action,
            details={"version": changed.active, "previous": read.active if read else None},
        )
        self._audit.append(entry, within=changes)
        changes.commit()
