"""One atomic change across repositories: each refused write raises its own domain error."""

from __future__ import annotations

import pytest

from shared.domain.changes import BudgetShort, Contention
from shared.repositories.unit_of_work import UnitOfWork
from shared.storage.memory_table import MemoryTable
from shared.storage.table import AtLeast, Equals, NotExists, Put, Update


def _table_with_budget(left: str) -> MemoryTable:
    table = MemoryTable()
    table.write([Put({"pk": "P#uow", "sk": "P", "budget_left": int(left), "version": 1})])
    return table


def test_a_refused_write_raises_the_error_it_stands_for() -> None:
    # Given a budget of 5 and a change that spends 10 beside another write
    table = _table_with_budget("5")
    changes = UnitOfWork(table).begin()
    changes.stage(Put({"pk": "X#uow", "sk": "X"}, NotExists()))
    changes.stage(
        Update("P#uow", "P", add={"budget_left": -10}, condition=AtLeast("budget_left", 10)),
        lambda: BudgetShort("uow"),
    )

    # When it commits, Then the budget's own error is raised and nothing is written
    with pytest.raises(BudgetShort):
        changes.commit()
    assert table.get("X#uow", "X") is None


def test_a_refused_write_without_its_own_error_means_read_again() -> None:
    table = _table_with_budget("5")
    changes = UnitOfWork(table).begin()
    changes.stage(Update("P#uow", "P", set={"version": 2}, condition=Equals("version", 9)))

    with pytest.raises(Contention):
        changes.commit()


def test_everything_staged_is_written_together() -> None:
    table = _table_with_budget("50")
    changes = UnitOfWork(table).begin()
    changes.stage(Put({"pk": "X#uow", "sk": "X"}, NotExists()))
    changes.stage(
        Update("P#uow", "P", add={"budget_left": -10}, condition=AtLeast("budget_left", 10)),
        lambda: BudgetShort("uow"),
    )

    changes.commit()

    assert table.get("X#uow", "X") is not None
    stored = table.get("P#uow", "P")
    assert stored is not None and stored["budget_left"] == 40
