"""The ports of one atomic change, as services and repositories see it.

A service begins `Changes` from a `UnitOfWork`, hands them to repositories' intent methods
(`within=changes`), which stage their writes on them, and commits: all or nothing, raising
the domain error of the write that was refused. `shared.repositories.unit_of_work` is the
table's adapter; services know only these, so they never see a table or a write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Changes(Protocol):
    def stage(self, op: Any, refused: Callable[[], Exception] | None = None) -> None:
        """Add one write (repositories only); `refused` builds the error it failing means."""
        ...

    def commit(self) -> None:
        """Write everything staged at once, or raise the refused write's domain error."""
        ...


class UnitOfWork(Protocol):
    def begin(self) -> Changes: ...
