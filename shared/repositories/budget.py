"""A program's reward budget: `budget_left` and `budget_used`, top-level numbers on the
program item, changed only with `ADD` in the transaction that spends or returns them."""

from __future__ import annotations

from decimal import Decimal

from shared.atomic_changes import Changes
from shared.domain.changes import BudgetShort
from shared.repositories import keys
from shared.storage.table import AtLeast, Exists, Table, Update


def spend_op(program_id: str, amount: Decimal) -> Update:
    """Spend `amount` only if that much is left: the budget never goes negative."""
    pk, sk = keys.program(program_id)
    return Update(
        pk,
        sk,
        add={"budget_left": -amount, "budget_used": amount},
        condition=AtLeast("budget_left", amount),
    )


def give_back_op(program_id: str, amount: Decimal) -> Update:
    pk, sk = keys.program(program_id)
    return Update(pk, sk, add={"budget_left": amount, "budget_used": -amount}, condition=Exists())


class ProgramBudget:
    def __init__(self, table: Table) -> None:
        self._table = table

    @staticmethod
    def spend(program_id: str, amount: Decimal, *, within: Changes) -> None:
        """Spend `amount` with `within`; the commit raises `BudgetShort` if less is left."""
        within.stage(spend_op(program_id, amount), lambda: BudgetShort(program_id))

    @staticmethod
    def give_back(program_id: str, amount: Decimal, *, within: Changes) -> None:
        """Return `amount` to the program's budget with `within`."""
        within.stage(give_back_op(program_id, amount))

    def left(self, program_id: str) -> Decimal | None:
        item = self._table.get(*keys.program(program_id))
        return Decimal(item["budget_left"]) if item else None
