"""Which trained model version scoring serves, and the ones it served before.

The pointer is one small record: the active version, the versions it replaced (newest
first, for rollback) and a revision that every change advances, so a change written on
a stale read is refused instead of silently undoing someone else's promotion.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.domain.changes import Contention

# Rollback needs only the last few versions; 20 keeps the item far below DynamoDB's 400 KB.
HISTORY_LIMIT = 20
# A version is a directory (or S3 prefix) name: no separators, no leading dot.
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def is_version_name(name: str) -> bool:
    return bool(_VERSION_NAME.match(name))


class ModelPointer(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    active: str
    previous: tuple[str, ...] = ()
    revision: int = 0  # 0: never stored (the bundled default is serving)
    changed_at: datetime | None = None
    changed_by: str | None = None

    def promoted(self, version: str, at: datetime, actor: str) -> ModelPointer:
        if version == self.active:
            raise AlreadyActive(version)
        previous = (self.active, *(v for v in self.previous if v != self.active))
        return ModelPointer(
            active=version,
            previous=previous[:HISTORY_LIMIT],
            revision=self.revision + 1,
            changed_at=at,
            changed_by=actor,
        )

    def rolled_back(self, at: datetime, actor: str) -> ModelPointer:
        if not self.previous:
            raise NothingToRollBack(self.active)
        return ModelPointer(
            active=self.previous[0],
            previous=self.previous[1:],
            revision=self.revision + 1,
            changed_at=at,
            changed_by=actor,
        )

    def history(self) -> list[str]:
        """The active version first, then each one it replaced, newest first."""
        return [self.active, *self.previous]


class ModelVersionUnavailable(Exception):
    """The version's artifacts cannot be found or loaded, so it cannot be served."""

    def __init__(self, version: str, reason: str) -> None:
        super().__init__(f"model version {version!r} cannot be served: {reason}")
        self.version = version
        self.reason = reason


class ActiveModelMoved(Contention):
    """Another promotion or rollback changed the active version since it was read."""

    def __init__(self) -> None:
        super().__init__(
            "the active model version changed while this change was prepared; "
            "list the versions and try again"
        )


class AlreadyActive(Exception):
    def __init__(self, version: str) -> None:
        super().__init__(f"model version {version!r} is already the active one")
        self.version = version


class NothingToRollBack(Exception):
    def __init__(self, active: str | None) -> None:
        super().__init__(f"no earlier model version to roll back to (active: {active})")
        self.active = active
