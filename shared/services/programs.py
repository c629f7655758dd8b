"""Creating, listing and changing programs; checking referral codes for checkout pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from shared.clock import Clock
from shared.domain.advocates import Advocate
from shared.domain.commands import CreateProgram, UpdateProgram
from shared.domain.experiments import VariantTermsFixed, revise
from shared.domain.programs import (
    Program,
    ProgramChanged,
    RewardTerms,
    Variant,
    points_reward,
)
from shared.errors import Conflict, FieldError, InvalidRequest, NotFound
from shared.ids import new_id, normalise_code
from shared.money import Money, MoneyError, check_scale
from shared.services.timing import occurred_at


class Programs(Protocol):
    def add(self, program: Program) -> None: ...
    def get(self, program_id: str) -> Program | None: ...
    def save(
        self, program: Program, expected_version: int, top_up: Decimal | None = None
    ) -> Program: ...
    def list(self, limit: int, cursor: str | None) -> tuple[list[Program], str | None]: ...


class AdvocateCodes(Protocol):
    def find_by_code(self, referral_code: str) -> Advocate | None: ...


@dataclass(frozen=True)
class CodeCheck:
    program_id: str
    code: str
    valid: bool
    reason: str | None
    referee_reward: RewardTerms | None


def _variant_currency_errors(variants: tuple[Variant, ...], currency: str) -> list[FieldError]:
    """A variant's rewards are in the budget's currency too."""
    return [
        FieldError(
            f"variants.{i}.rewards.{side}.currency",
            f"must be {currency}, the budget's currency",
            "currency_mismatch",
        )
        for i, variant in enumerate(variants)
        for side, reward in (
            ("advocate", variant.advocate_reward),
            ("referee", variant.referee_reward),
        )
        # A points reward is priced in the point value's currency: that one is checked.
        if reward is not None and reward.points is None and reward.currency != currency
    ]


def _currency_errors(body: CreateProgram) -> list[FieldError]:
    """Every amount in a program is in the budget's currency, at its precision."""
    currency = body.budget.currency
    scale_errors = []
    for field, amount in (
        ("min_order_value", body.min_order_value),
        ("dual_approval_over", body.dual_approval_over),
    ):
        if amount is None:
            continue
        try:
            check_scale(amount, currency)
        except MoneyError as exc:
            scale_errors.append(FieldError(field, str(exc), "too_many_decimals"))
    named: dict[str, RewardTerms | Money | None] = {
        "rewards.advocate.currency": body.advocate_reward,
        "rewards.referee.currency": body.referee_reward,
    }
    named |= {
        f"tiers.{i}.advocate_bonus.currency": t.advocate_bonus for i, t in enumerate(body.tiers)
    }
    # A points reward is priced in the point value's currency: that one is checked.
    named = {f: t for f, t in named.items() if not (isinstance(t, RewardTerms) and t.points)}
    named["point_value.currency"] = body.point_value
    return (
        scale_errors
        + [
            FieldError(field, f"must be {currency}, the budget's currency", "currency_mismatch")
            for field, reward in named.items()
            if reward is not None and reward.currency != currency
        ]
        + _cap_currency_errors(body.cap_currencies, currency)
    )


def _cap_currency_errors(cap_currencies: Mapping[str, str], currency: str) -> list[FieldError]:
    """A monthly cap counts the program's rewards, so it is in the program's currency."""
    return [
        FieldError(field, f"must be {currency}, the program's currency", "currency_mismatch")
        for field, cap_currency in cap_currencies.items()
        if cap_currency != currency
    ]


def _priced(program: Program, variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
    """The variants with their points rewards priced at the program's point_value."""
    errors: list[FieldError] = []
    priced = []
    for i, variant in enumerate(variants):
        sides = {}
        for side in ("advocate", "referee"):
            terms: RewardTerms | None = getattr(variant, f"{side}_reward")
            if terms is None or terms.points is None:
                continue
            if program.point_value is None:
                errors.append(
                    FieldError(
                        f"variants.{i}.rewards.{side}.kind",
                        "a points reward needs the program's point_value",
                        "invalid",
                    )
                )
                continue
            value = Money(program.point_value, program.currency)
            sides[f"{side}_reward"] = points_reward(terms.points, value)
        priced.append(variant.model_copy(update=sides))
    if errors:
        raise InvalidRequest(errors)
    return tuple(priced)


def _revised_variants(program: Program, proposed: tuple[Variant, ...]) -> list[Variant]:
    proposed = _priced(program, proposed)
    errors = _variant_currency_errors(proposed, program.currency)
    if errors:
        raise InvalidRequest(errors)
    try:
        return revise(program.variants, proposed)
    except VariantTermsFixed as exc:
        raise InvalidRequest.field(
            f"variants.{exc.index}.rewards",
            f"variant {exc.name} keeps the rewards it was defined with",
            "variant_terms_fixed",
        ) from exc


class ProgramService:
    def __init__(self, programs: Programs, advocates: AdvocateCodes, clock: Clock) -> None:
        self._programs = programs
        self._advocates = advocates
        self._clock = clock

    def create(self, body: CreateProgram) -> Program:
        errors = _currency_errors(body) + _variant_currency_errors(
            body.variants, body.budget.currency
        )
        if errors:
            raise InvalidRequest(errors)
        started = occurred_at(body.occurred_at, self._clock)
        now = self._clock.now()
        program = Program(
            program_id=new_id("prg"),
            name=body.name,
            qualifying_event=body.qualifying_event,
            min_order_value=body.min_order_value,
            advocate_reward=body.advocate_reward,
            referee_reward=body.referee_reward,
            tiers=list(body.tiers),
            attribution_window_days=body.attribution_window_days,
            holding_period_days=body.holding_period_days,
            currency=body.budget.currency,
            budget_total=body.budget.amount,
            per_advocate_cap=body.per_advocate_cap,
            caps=body.caps,
            dual_approval_over=body.dual_approval_over,
            point_value=body.point_value.amount if body.point_value else None,
            recurring_months=body.recurring_months,
            review_timeout_days=body.review_timeout_days,
            review_timeout_action=body.review_timeout_action,
            auto_reject=body.auto_reject,
            variants=list(body.variants),
            started_at=started,
            created_at=now,
            updated_at=now,
        )
        self._programs.add(program)
        return program

    def get(self, program_id: str) -> Program:
        program = self._programs.get(program_id)
        if program is None:
            raise NotFound(f"no program {program_id}")
        return program

    def list(self, limit: int, cursor: str | None) -> tuple[list[Program], str | None]:
        return self._programs.list(limit, cursor)

    def update(self, program_id: str, change: UpdateProgram) -> Program:
        program = self.get(program_id)
        if change.budget_top_up is not None and change.budget_top_up.currency != program.currency:
            raise InvalidRequest.field(
                "budget_top_up.currency", f"must be {program.currency}", "currency_mismatch"
            )
        cap_errors = _cap_currency_errors(change.cap_currencies, program.currency)
        if cap_errors:
            raise InvalidRequest(cap_errors)
        terms = {**change.terms(), "updated_at": self._clock.now()}
        if change.variants is not None:
            terms["variants"] = _revised_variants(program, change.variants)
        updated = program.model_copy(update=terms)
        try:
            top_up = change.budget_top_up.amount if change.budget_top_up else None
            self._programs.save(updated, expected_version=program.version, top_up=top_up)
        except ProgramChanged as exc:
            raise Conflict("the program changed meanwhile; read it again and retry") from exc
        return self.get(program_id)

    def check_code(self, program_id: str, code: str) -> CodeCheck:
        program = self.get(program_id)
        code = normalise_code(code)
        advocate = self._advocates.find_by_code(code)
        reason = None
        if advocate is None or advocate.program_id != program_id:
            reason = "unknown_code"
        elif not program.is_active:
            reason = "program_paused"
        referee_reward = None
        if advocate is not None and reason is None:
            # The checkout shows what this advocate's referees get: its variant's reward.
            referee_reward = program.rewards_of(advocate.variant)[1]
        return CodeCheck(
            program_id=program_id,
            code=code,
            valid=reason is None,
            reason=reason,
            referee_reward=referee_reward,
        )
