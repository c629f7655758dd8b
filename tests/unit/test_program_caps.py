"""Monthly caps on a program's create and update: positive amounts in the program's
currency, `defer` or `refuse`, shown back as they were set."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.clock import FixedClock
from shared.errors import InvalidRequest
from shared.schemas.programs import ProgramCreate, ProgramOut, ProgramUpdate
from shared.services.programs import ProgramService
from shared.storage.memory_table import MemoryTable
from tests.finance_support import services_on
from tests.support import program_body

CAPS = {
    "per_advocate_per_month": {"amount": "50.00", "currency": "USD"},
    "program_per_month": {"amount": "1000.00", "currency": "USD"},
    "over_cap": "refuse",
}


def _service() -> ProgramService:
    return services_on(MemoryTable(), FixedClock(datetime(2026, 11, 2, tzinfo=UTC))).programs


def _refused_at(body: dict[str, Any], model: Any = ProgramCreate) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    return [e["loc"] for e in refused.value.errors()]


def test_a_program_keeps_its_monthly_caps_and_shows_them() -> None:
    program = _service().create(ProgramCreate.model_validate(program_body(caps=CAPS)).command())

    assert program.caps is not None
    assert program.caps.per_advocate_per_month == Decimal("50.00")
    assert program.caps.over_cap == "refuse"
    shown = ProgramOut.of(program).model_dump(mode="json")["caps"]
    assert shown == CAPS


def test_over_cap_defaults_to_defer_and_a_cap_may_be_left_out() -> None:
    body = program_body(caps={"program_per_month": {"amount": "100.00", "currency": "USD"}})

    program = _service().create(ProgramCreate.model_validate(body).command())

    assert program.caps is not None and program.caps.over_cap == "defer"
    assert program.caps.per_advocate_per_month is None


def test_a_program_without_caps_shows_none() -> None:
    program = _service().create(ProgramCreate.model_validate(program_body()).command())

    assert ProgramOut.of(program).caps is None


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00"])
def test_a_cap_of_nothing_is_refused_naming_the_field(amount: str) -> None:
    caps = {**CAPS, "program_per_month": {"amount": amount, "currency": "USD"}}

    assert _refused_at(program_body(caps=caps)) == [("caps", "program_per_month", "amount")]


def test_an_unknown_over_cap_is_refused_naming_the_field() -> None:
    assert _refused_at(program_body(caps={**CAPS, "over_cap": "queue"})) == [("caps", "over_cap")]


def test_an_unknown_field_in_caps_is_refused() -> None:
    assert _refused_at(program_body(caps={**CAPS, "per_week": "10.00"})) == [("caps", "per_week")]


def test_a_cap_in_another_currency_than_the_programs_is_refused_naming_the_field() -> None:
    caps = {**CAPS, "per_advocate_per_month": {"amount": "50.00", "currency": "EUR"}}
    command = ProgramCreate.model_validate(program_body(caps=caps)).command()

    with pytest.raises(InvalidRequest) as refused:
        _service().create(command)

    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("caps.per_advocate_per_month.currency", "currency_mismatch")
    ]


def test_an_update_sets_the_caps_from_then_on() -> None:
    service = _service()
    program = service.create(ProgramCreate.model_validate(program_body()).command())

    updated = service.update(
        program.program_id, ProgramUpdate.model_validate({"caps": CAPS}).command()
    )

    assert updated.caps is not None and updated.caps.program_per_month == Decimal("1000.00")
    assert updated.name == program.name


def test_an_update_with_caps_in_another_currency_is_refused() -> None:
    service = _service()
    program = service.create(ProgramCreate.model_validate(program_body()).command())
    caps = {"program_per_month": {"amount": "10.00", "currency": "GBP"}, "over_cap": "defer"}

    with pytest.raises(InvalidRequest) as refused:
        service.update(program.program_id, ProgramUpdate.model_validate({"caps": caps}).command())

    assert [e.field for e in refused.value.errors] == ["caps.program_per_month.currency"]
    assert service.get(program.program_id).caps is None
