"""A stored program as the create body that makes it again: how an export writes programs.

Every term a replay needs to decide and pay as live traffic did is written (donations'
charities, commissions, points, monthly caps, recurring months and the active incentive
variants); counters such as the budget used are not terms and are left out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.domain.programs import MonthlyCaps, Program, RewardTerms


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _set(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def reward_body(terms: RewardTerms | None) -> dict[str, Any] | None:
    if terms is None:
        return None
    if terms.points is not None:
        return {"kind": terms.kind, "points": str(terms.points)}
    commission = terms.commission
    if commission is not None:
        return _set(
            kind=terms.kind,
            percent_of_order=f"{commission.percent_of_order:f}",
            currency=terms.currency,
            min=_money(commission.min),
            max=_money(commission.max),
        )
    return _set(
        kind=terms.kind,
        amount=_money(terms.amount),
        currency=terms.currency,
        charity=terms.charity,
    )


def _sides(advocate: RewardTerms | None, referee: RewardTerms | None) -> dict[str, Any]:
    return _set(advocate=reward_body(advocate), referee=reward_body(referee))


def _caps(caps: MonthlyCaps | None, currency: str) -> dict[str, Any] | None:
    if caps is None:
        return None

    def cap(amount: Decimal | None) -> dict[str, Any] | None:
        return None if amount is None else {"amount": _money(amount), "currency": currency}

    return _set(
        per_advocate_per_month=cap(caps.per_advocate_per_month),
        program_per_month=cap(caps.program_per_month),
        over_cap=caps.over_cap,
    )


def program_body(program: Program) -> dict[str, Any]:
    currency = program.currency
    point_value = program.point_value
    priced = {"amount": _money(point_value), "currency": currency} if point_value else None
    variants = [
        {"name": v.name, "weight": v.weight, "rewards": _sides(v.advocate_reward, v.referee_reward)}
        for v in program.variants
        if v.active
    ]
    return _set(
        name=program.name,
        qualifying_event=program.qualifying_event,
        min_order_value=_money(program.min_order_value),
        rewards=_sides(program.advocate_reward, program.referee_reward),
        tiers=[
            {
                "min_successful_referrals": t.min_successful_referrals,
                "advocate_bonus": reward_body(t.advocate_bonus),
            }
            for t in program.tiers
        ],
        attribution_window_days=program.attribution_window_days,
        holding_period_days=program.holding_period_days,
        budget={"amount": _money(program.budget_total), "currency": currency},
        per_advocate_cap=program.per_advocate_cap,
        caps=_caps(program.caps, currency),
        dual_approval_over=_money(program.dual_approval_over),
        point_value=priced,
        recurring_months=program.recurring_months,
        review_timeout_days=program.review_timeout_days,
        review_timeout_action=program.review_timeout_action,
        auto_reject=program.auto_reject,
        variants=variants or None,
    )
