"""What the intake, review and admin services ask of the stores they share, as ports.

Each is the part of a repository (`shared.repositories`) a service uses, so a service
depends on the intent and never on a table, a key or a write; bootstrap hands in the
repositories, which fit these structurally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Protocol

from shared.atomic_changes import Changes
from shared.domain.audit import AuditEntry
from shared.domain.evidence import Observation
from shared.domain.programs import Program


class ProgramTerms(Protocol):
    def terms(self, program_id: str) -> Program | None:
        """The program as intake reads it (eventually consistent, see the repository)."""
        ...


class Evidence(Protocol):
    def record(self, observations: Iterable[Observation], *, within: Changes) -> None:
        """Index the observations with the change they belong to."""
        ...


class Counters(Protocol):
    def count(
        self,
        program_id: str,
        deltas: Mapping[str, Decimal | int],
        *,
        within: Changes,
        variant: str | None = None,
    ) -> None:
        """Move the program's figures (and `variant`'s) with the change they count."""
        ...


class Audit(Protocol):
    def append(self, entry: AuditEntry, *, within: Changes) -> None:
        """Record the entry with the change it describes."""
        ...
