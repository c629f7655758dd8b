"""Programs, with their budget counters kept as atomic numbers beside the document."""

from __future__ import annotations

from decimal import Decimal

from shared.clock import iso
from shared.domain.programs import Program, ProgramChanged
from shared.repositories import keys
from shared.repositories.codec import to_doc
from shared.storage.table import (
    ConditionFailed,
    Equals,
    Item,
    NotExists,
    Put,
    Table,
    Update,
)

# The program changed since it was read (the domain's name for it is `ProgramChanged`).
StaleProgram = ProgramChanged


class ProgramRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, program: Program) -> None:
        pk, sk = keys.program(program.program_id)
        item: Item = {
            "pk": pk,
            "sk": sk,
            "type": "program",
            "gsi1pk": keys.PROGRAMS_INDEX,
            "gsi1sk": f"{iso(program.created_at)}#{program.program_id}",
            "doc": to_doc(program),
            "version": program.version,
            "status": program.status.value,
            "budget_total": program.budget_total,
            "budget_used": program.budget_used,
            "budget_left": program.budget_left,
        }
        self._table.write([Put(item, NotExists())])

    def get(self, program_id: str) -> Program | None:
        item = self._table.get(*keys.program(program_id))
        return _program(item) if item else None

    def terms(self, program_id: str) -> Program | None:
        """The program as intake and scoring read it: an eventually consistent read.

        Every referral reads its program 4 times (intake, event, scoring, features); at
        1,000 referrals/s strongly consistent reads put 4,900 RCU/s on the one item, over
        DynamoDB's 3,000 a partition, and these halve it. A pause or a new minimum may
        take a second to be seen here; the budget and the pause are checked again,
        strongly, by the release transaction. A program just created may not be visible
        yet, so a miss is read again strongly.
        """
        item = self._table.get(*keys.program(program_id), consistent=False)
        item = item or self._table.get(*keys.program(program_id))
        return _program(item) if item else None

    def list(self, limit: int, cursor: str | None) -> tuple[list[Program], str | None]:
        page = self._table.query(
            keys.PROGRAMS_INDEX, index="gsi1", forward=False, limit=limit, cursor=cursor
        )
        return [_program(item) for item in page.items], page.cursor

    def save(
        self, program: Program, expected_version: int, top_up: Decimal | None = None
    ) -> Program:
        """Store changed terms and any budget top-up in one conditional write.

        The used/left counters are otherwise the ledger's: they are never overwritten here.
        """
        pk, sk = keys.program(program.program_id)
        updated = program.model_copy(update={"version": expected_version + 1})
        try:
            self._table.write(
                [
                    Update(
                        pk,
                        sk,
                        set={
                            "doc": to_doc(updated),
                            "version": updated.version,
                            "status": updated.status.value,
                        },
                        add={"budget_total": top_up, "budget_left": top_up} if top_up else {},
                        condition=Equals("version", expected_version),
                    )
                ]
            )
        except ConditionFailed as exc:
            raise StaleProgram(program.program_id) from exc
        return updated


def _program(item: Item) -> Program:
    program = Program.model_validate(item["doc"])
    return program.model_copy(
        update={
            "budget_total": Decimal(item["budget_total"]),
            "budget_used": Decimal(item["budget_used"]),
            "version": int(item["version"]),
        }
    )
