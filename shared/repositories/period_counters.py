"""What each calendar month released, for a program's monthly caps (`shared.domain.caps`).

Two counters per program and month (`keys.month_spent`): the program's whole month, and
each advocate's share. A release adds to both in its own transaction, each on condition
that the counter stays within its cap (a counter not written yet counts as zero), so
parallel releases can never pass a month's cap: the commit raises `MonthlyCapReached`
and the release reads the counters again and decides again.
"""

from __future__ import annotations

from decimal import Decimal

from shared.atomic_changes import Changes
from shared.domain.caps import PER_ADVOCATE, PROGRAM, MonthSpent
from shared.domain.changes import MonthlyCapReached
from shared.domain.programs import MonthlyCaps
from shared.repositories import keys
from shared.storage.table import AtMost, Table, Update

SPENT = "spent"


def add_op(
    program_id: str, month: str, advocate_id: str | None, amount: Decimal, cap: Decimal | None
) -> Update:
    """Add `amount` to the month's counter only while it stays within `cap` (None: no cap,
    the counter still counts, so a cap set mid-month sees what the month spent)."""
    pk, sk = keys.month_spent(program_id, month, advocate_id)
    condition = AtMost(SPENT, cap - amount) if cap is not None else None
    return Update(
        pk,
        sk,
        set={"type": "month_spent", "program_id": program_id, "month": month},
        add={SPENT: amount},
        condition=condition,
    )


class PeriodCounters:
    def __init__(self, table: Table) -> None:
        self._table = table

    def spent(self, program_id: str, advocate_id: str, month: str) -> MonthSpent:
        """What `month` released so far: to the advocate, and by the whole program."""
        return MonthSpent(
            advocate=self._spent(keys.month_spent(program_id, month, advocate_id)),
            program=self._spent(keys.month_spent(program_id, month)),
        )

    def _spent(self, key: tuple[str, str]) -> Decimal:
        item = self._table.get(*key)
        return Decimal(item[SPENT]) if item and SPENT in item else Decimal(0)

    @staticmethod
    def count(
        program_id: str,
        advocate_id: str,
        month: str,
        *,
        caps: MonthlyCaps,
        advocate_amount: Decimal,
        total: Decimal,
        within: Changes,
    ) -> None:
        """Count a release's rewards for `month` with `within`: `advocate_amount` (its
        advocate side) to the advocate, `total` to the program. The commit raises
        `MonthlyCapReached` if either would pass its cap."""
        if advocate_amount > 0:
            within.stage(
                add_op(
                    program_id, month, advocate_id, advocate_amount, caps.per_advocate_per_month
                ),
                lambda: MonthlyCapReached(program_id, month, PER_ADVOCATE),
            )
        if total > 0:
            within.stage(
                add_op(program_id, month, None, total, caps.program_per_month),
                lambda: MonthlyCapReached(program_id, month, PROGRAM),
            )
