"""Intake and scoring read a program's terms with eventually consistent reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.clock import FixedClock
from shared.repositories.programs import ProgramRepository
from shared.schemas.programs import ProgramCreate
from shared.storage.memory_table import MemoryTable
from shared.storage.table import Item
from tests.finance_support import services_on
from tests.support import program_body


class LaggingTable(MemoryTable):
    """A table whose eventually consistent reads have not seen any write yet."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[bool] = []

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        self.reads.append(consistent)
        return super().get(pk, sk) if consistent else None


def _program(table: MemoryTable, **overrides: Any) -> str:
    service = services_on(table, FixedClock(datetime(2025, 5, 1, tzinfo=UTC))).programs
    return service.create(
        ProgramCreate.model_validate(program_body(**overrides)).command()
    ).program_id


def test_terms_are_read_eventually_consistent_first() -> None:
    table = LaggingTable()
    program_id = _program(table)
    table.reads.clear()
    ProgramRepository(table).terms(program_id)
    assert table.reads[0] is False


def test_a_program_just_created_is_found_although_the_cheap_read_lags() -> None:
    table = LaggingTable()
    program_id = _program(table, name="Just created")
    terms = ProgramRepository(table).terms(program_id)
    assert terms is not None and terms.name == "Just created"


def test_an_unknown_program_has_no_terms() -> None:
    assert ProgramRepository(LaggingTable()).terms("prg_missing") is None
