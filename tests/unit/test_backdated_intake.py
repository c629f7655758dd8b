"""Backdated intake: a referral cannot predate its advocate or its program, and a program
may itself be dated, so a merchant can import its history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shared.clock import iso
from shared.domain.programs import Program
from shared.errors import InvalidRequest
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate
from shared.schemas.referrals import ReferralCreate
from tests.support import T0, advocate_body, program_body, referral_body
from tests.unit.conftest import Services


def _program(s: Services, started: datetime | None = None) -> str:
    body = program_body(**({"occurred_at": iso(started)} if started else {}))
    return s.programs.create(ProgramCreate.model_validate(body).command()).program_id


def _code(s: Services, program_id: str, enrolled: datetime | None = None) -> str:
    body = advocate_body(**({"occurred_at": iso(enrolled)} if enrolled else {}))
    enrolment = s.advocates.enrol(program_id, AdvocateEnrol.model_validate(body).command())
    return enrolment.advocate.referral_code


def _refer(s: Services, program_id: str, code: str, at: datetime) -> str:
    body = referral_body(program_id, code, occurred_at=iso(at))
    return s.referrals.create(ReferralCreate.model_validate(body).command()).referral_id


def test_a_referral_dated_before_its_advocates_enrolment_is_refused_naming_occurred_at(
    services: Services,
) -> None:
    # Given a program running for 60 days and an advocate who enrolled just now
    program_id = _program(services, started=T0 - timedelta(days=60))
    code = _code(services, program_id)

    # When a referral dated 30 days back is recorded
    with pytest.raises(InvalidRequest) as refused:
        _refer(services, program_id, code, T0 - timedelta(days=30))

    # Then it is refused, naming the field
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("occurred_at", "before_enrolment")
    ]


def test_a_referral_dated_before_its_program_started_is_refused(services: Services) -> None:
    # Given a program and its advocate, both from an hour ago
    started = T0 - timedelta(hours=1)
    program_id = _program(services, started=started)
    code = _code(services, program_id, enrolled=started)

    # When a referral dated 30 days back is recorded
    with pytest.raises(InvalidRequest) as refused:
        _refer(services, program_id, code, T0 - timedelta(days=30))

    # Then it is refused, naming the field
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("occurred_at", "before_program_start")
    ]


def test_a_referral_dated_at_its_advocates_enrolment_is_recorded(services: Services) -> None:
    # Given a program and an advocate, both dated 30 days back
    started = T0 - timedelta(days=30)
    program_id = _program(services, started=started)
    code = _code(services, program_id, enrolled=started)

    # When a referral dated the same instant is recorded
    referral_id = _refer(services, program_id, code, started)

    # Then it is recorded with that date
    assert services.referrals.get(referral_id).occurred_at == started


def test_a_program_body_may_carry_occurred_at(services: Services) -> None:
    # Given a program body dated 90 days back
    started = T0 - timedelta(days=90)

    # When the program is created
    program = services.programs.get(_program(services, started=started))

    # Then it started then, and was recorded now
    assert program.started_at == started
    assert program.created_at == T0


def test_a_program_without_occurred_at_starts_when_it_is_recorded(services: Services) -> None:
    program = services.programs.get(_program(services))

    assert program.started_at == program.created_at == T0


def test_a_program_dated_in_the_future_is_refused_naming_occurred_at(
    services: Services,
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        _program(services, started=T0 + timedelta(hours=1))

    assert [e.field for e in refused.value.errors] == ["occurred_at"]


def test_a_program_stored_before_programs_had_a_start_starts_at_its_creation() -> None:
    # Given a stored program document written before programs carried a start
    document = _stored_without_a_start(created_at=iso(T0 - timedelta(days=3)))

    # When it is read
    program = Program.model_validate(document)

    # Then its start is its creation
    assert program.started_at == T0 - timedelta(days=3)


def _stored_without_a_start(created_at: str) -> dict[str, object]:
    return {
        "program_id": "prg_old",
        "name": "Give 10 get 10",
        "qualifying_event": "purchase",
        "min_order_value": "20.00",
        "advocate_reward": {"kind": "gift_card", "amount": "10.00", "currency": "USD"},
        "referee_reward": None,
        "tiers": [],
        "attribution_window_days": 30,
        "holding_period_days": 14,
        "currency": "USD",
        "budget_total": "5000.00",
        "budget_used": "0",
        "per_advocate_cap": 20,
        "dual_approval_over": "100.00",
        "review_timeout_days": 30,
        "review_timeout_action": "reject",
        "auto_reject": True,
        "status": "active",
        "created_at": created_at,
        "updated_at": created_at,
        "version": 1,
    }


def test_an_enrolment_dated_before_its_program_started_is_refused(services: Services) -> None:
    # Given a program that started an hour ago
    program_id = _program(services, started=T0 - timedelta(hours=1))

    # When an advocate's enrolment is dated a day back, Then it is refused naming the field
    with pytest.raises(InvalidRequest) as refused:
        _code(services, program_id, enrolled=T0 - timedelta(days=1))

    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("occurred_at", "before_program_start")
    ]
