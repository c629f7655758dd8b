"""One atomic change across several repositories.

Repositories stage their writes on a `Changes`; `commit` writes them as one transaction,
all or nothing. Each staged write says which domain error its own condition stands for
(`BudgetShort` for the budget, `ReferralMoved` for a referral read at an older version),
so a service catches what went wrong by name and never by an operation's position.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.domain.changes import Contention
from shared.storage.table import ConditionFailed, Table, TransactionConflict, WriteOp

# What a refused condition means, built when it is refused (the error may name the item).
Refusal = Callable[[], Exception]


class Changes:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._ops: list[WriteOp] = []
        self._refusals: list[Refusal | None] = []

    def stage(self, op: WriteOp, refused: Refusal | None = None) -> None:
        """Add one write; `refused` builds the error its condition failing stands for
        (None: somebody else changed the item, read again)."""
        self._ops.append(op)
        self._refusals.append(refused)

    def __len__(self) -> int:
        return len(self._ops)

    def commit(self) -> None:
        """Write everything staged at once. Raises the refused write's own error, or
        `Contention` when another writer got in between."""
        if not self._ops:
            return
        try:
            self._table.write(self._ops)
        except TransactionConflict as exc:
            raise Contention() from exc
        except ConditionFailed as exc:
            refused = self._refusals[exc.index]
            raise (refused() if refused is not None else Contention()) from exc
        finally:
            self._ops, self._refusals = [], []


class UnitOfWork:
    """Begins `Changes` on one table; services are given this, never the table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def begin(self) -> Changes:
        return Changes(self._table)
