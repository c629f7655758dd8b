"""Programs, enrolment, referral intake and qualifying events, on the in-memory table."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.domain.referrals import ReferralStatus
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.ids import CODE_ALPHABET, CODE_LENGTH
from shared.schemas.advocates import AdvocateEnrol
from shared.schemas.programs import ProgramCreate, ProgramUpdate
from shared.schemas.referrals import EventCreate, ReferralCreate
from tests.support import T0, advocate_body, program_body, purchase_body, referral_body
from tests.unit.conftest import Services


def _program(s: Services, **overrides: object) -> str:
    return s.programs.create(
        ProgramCreate.model_validate(program_body(**overrides)).command()
    ).program_id


def _advocate(s: Services, program_id: str, **overrides: object) -> tuple[str, str]:
    enrolment = s.advocates.enrol(
        program_id, AdvocateEnrol.model_validate(advocate_body(**overrides)).command()
    )
    return enrolment.advocate.advocate_id, enrolment.advocate.referral_code


def _referral(s: Services, program_id: str, code: str, **overrides: object) -> str:
    body = ReferralCreate.model_validate(referral_body(program_id, code, **overrides)).command()
    return s.referrals.create(body).referral_id


class TestPrograms:
    def test_reward_in_another_currency_than_the_budget_names_the_field(
        self, services: Services
    ) -> None:
        body = program_body(
            rewards={"advocate": {"kind": "cash", "amount": "10.00", "currency": "EUR"}}
        )
        with pytest.raises(InvalidRequest) as err:
            services.programs.create(ProgramCreate.model_validate(body).command())
        assert [e.field for e in err.value.errors] == ["rewards.advocate.currency"]

    def test_top_up_raises_the_budget_left(self, services: Services) -> None:
        program_id = _program(services)
        change = ProgramUpdate.model_validate(
            {"budget_top_up": {"amount": "250.50", "currency": "USD"}}
        ).command()
        program = services.programs.update(program_id, change)
        assert program.budget_total == Decimal("5250.50")
        assert program.budget_left == Decimal("5250.50")

    def test_pausing_keeps_other_terms(self, services: Services) -> None:
        program_id = _program(services)
        program = services.programs.update(program_id, ProgramUpdate(status="paused").command())
        assert program.status == "paused"
        assert program.holding_period_days == 14
        assert program.version == 2

    def test_listing_pages_through_every_program(self, services: Services) -> None:
        created = set()
        for i in range(5):
            services.clock.advance(timedelta(seconds=1))
            created.add(_program(services, name=f"p{i}"))
        seen, cursor = [], None
        while True:
            page, cursor = services.programs.list(2, cursor)
            seen += [p.program_id for p in page]
            if cursor is None:
                break
        assert set(seen) == created and len(seen) == 5

    def test_code_check_of_a_foreign_code_is_invalid(self, services: Services) -> None:
        first, second = _program(services), _program(services)
        _, code = _advocate(services, first)
        check = services.programs.check_code(second, code)
        assert (check.valid, check.reason) == (False, "unknown_code")

    def test_code_check_shows_the_referee_reward(self, services: Services) -> None:
        program_id = _program(services)
        _, code = _advocate(services, program_id)
        check = services.programs.check_code(program_id, code.lower())
        assert check.valid and check.referee_reward is not None
        assert check.referee_reward.amount == Decimal("10.00")


class TestEnrolment:
    def test_enrolling_again_returns_the_same_code(self, services: Services) -> None:
        program_id = _program(services)
        body = AdvocateEnrol.model_validate(advocate_body("alice")).command()
        first = services.advocates.enrol(program_id, body)
        again = services.advocates.enrol(program_id, body)
        assert first.created and not again.created
        assert again.advocate.referral_code == first.advocate.referral_code

    def test_codes_use_only_unambiguous_characters(self, services: Services) -> None:
        program_id = _program(services)
        codes = {_advocate(services, program_id)[1] for _ in range(30)}
        assert len(codes) == 30
        assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)

    def test_enrolling_in_an_unknown_program_is_not_found(self, services: Services) -> None:
        with pytest.raises(NotFound):
            _advocate(services, "prg_missing")

    def test_enrolling_in_a_paused_program_is_a_conflict(self, services: Services) -> None:
        program_id = _program(services)
        services.programs.update(program_id, ProgramUpdate(status="paused").command())
        with pytest.raises(Conflict):
            _advocate(services, program_id)


class TestReferralIntake:
    def test_referral_is_recorded_pending(self, services: Services) -> None:
        program_id = _program(services)
        _, code = _advocate(services, program_id)
        referral = services.referrals.get(_referral(services, program_id, code))
        assert referral.status == ReferralStatus.PENDING
        assert referral.risk is None

    def test_self_referral_is_recorded_rejected_with_its_reason(self, services: Services) -> None:
        program_id = _program(services)
        _, code = _advocate(services, program_id, customer_id="carol")
        referee = {"customer_id": "carol", "email": "carol+2@example.com"}
        referral = services.referrals.get(_referral(services, program_id, code, referee=referee))
        assert referral.status == ReferralStatus.REJECTED
        assert referral.risk is not None
        assert [r.code for r in referral.risk.reasons] == ["SELF_REFERRAL"]

    def test_same_referee_twice_in_a_program_is_a_conflict(self, services: Services) -> None:
        program_id = _program(services)
        _, code = _advocate(services, program_id)
        referee = {"customer_id": "dave", "email": "dave@example.com"}
        _referral(services, program_id, code, referee=referee)
        with pytest.raises(Conflict):
            _referral(services, program_id, code, referee=referee)

    def test_code_of_another_program_is_refused_naming_the_field(self, services: Services) -> None:
        first, second = _program(services), _program(services)
        _, code = _advocate(services, first)
        with pytest.raises(InvalidRequest) as err:
            _referral(services, second, code)
        assert err.value.errors[0].field == "referral_code"

    def test_referral_in_a_paused_program_is_a_conflict(self, services: Services) -> None:
        program_id = _program(services)
        _, code = _advocate(services, program_id)
        services.programs.update(program_id, ProgramUpdate(status="paused").command())
        with pytest.raises(Conflict):
            _referral(services, program_id, code)

    def test_occurred_at_far_in_the_future_is_refused(self, services: Services) -> None:
        program_id = _program(services)
        _, code = _advocate(services, program_id)
        future = (T0 + timedelta(minutes=6)).isoformat().replace("+00:00", "Z")
        with pytest.raises(InvalidRequest) as err:
            _referral(services, program_id, code, occurred_at=future)
        assert err.value.errors[0].field == "occurred_at"

    def test_a_little_clock_skew_is_accepted(self, services: Services) -> None:
        program_id = _program(services)
        _, code = _advocate(services, program_id)
        soon = (T0 + timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
        assert _referral(services, program_id, code, occurred_at=soon)


class TestQualifyingEvents:
    def _pending(self, s: Services, **program: object) -> str:
        program_id = _program(s, **program)
        _, code = _advocate(s, program_id)
        return _referral(s, program_id, code)

    def test_first_qualifying_purchase_requests_scoring_once(self, services: Services) -> None:
        referral_id = self._pending(services)
        services.events.record(referral_id, EventCreate.model_validate(purchase_body()).command())
        services.events.record(referral_id, EventCreate.model_validate(purchase_body()).command())
        assert [r for r, _ in services.queue.take()] == [referral_id]
        referral = services.referrals.get(referral_id)
        assert referral.qualified_at is not None

    def test_same_order_and_body_again_is_a_replay(self, services: Services) -> None:
        referral_id = self._pending(services)
        body = EventCreate.model_validate(purchase_body("order-1")).command()
        first = services.events.record(referral_id, body)
        again = services.events.record(referral_id, body)
        assert not first.replayed and again.replayed
        assert again.event == first.event

    def test_same_order_with_another_body_is_a_conflict(self, services: Services) -> None:
        referral_id = self._pending(services)
        services.events.record(
            referral_id, EventCreate.model_validate(purchase_body("order-2")).command()
        )
        with pytest.raises(Conflict):
            services.events.record(
                referral_id,
                EventCreate.model_validate(purchase_body("order-2", amount="99.00")).command(),
            )

    def test_purchase_below_the_minimum_is_recorded_but_does_not_qualify(
        self, services: Services
    ) -> None:
        referral_id = self._pending(services)
        outcome = services.events.record(
            referral_id, EventCreate.model_validate(purchase_body(amount="19.99")).command()
        )
        assert not outcome.event.qualifying
        assert services.queue.take() == []

    def test_event_before_its_referral_is_refused(self, services: Services) -> None:
        referral_id = self._pending(services)
        before = (T0 - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        with pytest.raises(InvalidRequest) as err:
            services.events.record(
                referral_id, EventCreate.model_validate(purchase_body(occurred_at=before)).command()
            )
        assert err.value.errors[0].field == "occurred_at"

    def test_event_in_another_currency_is_refused(self, services: Services) -> None:
        referral_id = self._pending(services)
        with pytest.raises(InvalidRequest) as err:
            services.events.record(
                referral_id, EventCreate.model_validate(purchase_body(currency="EUR")).command()
            )
        assert err.value.errors[0].field == "currency"

    def test_purchase_after_the_attribution_window_does_not_qualify(
        self, services: Services
    ) -> None:
        referral_id = self._pending(services, attribution_window_days=7)
        services.clock.advance(timedelta(days=8))
        outcome = services.events.record(
            referral_id, EventCreate.model_validate(purchase_body()).command()
        )
        assert not outcome.event.qualifying

    def test_signup_does_not_qualify_a_purchase_program(self, services: Services) -> None:
        referral_id = self._pending(services)
        outcome = services.events.record(referral_id, EventCreate(type="signup").command())
        assert not outcome.event.qualifying

    def test_signup_qualifies_a_signup_program(self, services: Services) -> None:
        referral_id = self._pending(services, qualifying_event="signup", min_order_value=None)
        outcome = services.events.record(referral_id, EventCreate(type="signup").command())
        assert outcome.event.qualifying

    def test_unknown_referral_is_not_found(self, services: Services) -> None:
        with pytest.raises(NotFound):
            services.events.record(
                "ref_missing", EventCreate.model_validate(purchase_body()).command()
            )
