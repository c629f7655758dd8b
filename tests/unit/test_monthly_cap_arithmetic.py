"""The arithmetic of monthly caps: calendar months in UTC, and Decimal sums that never pass
a month's cap, however releases fall across month boundaries."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.caps import MonthSpent, month_of
from shared.domain.programs import MonthlyCaps, Program, RewardTerms
from shared.domain.rewards import plan_release

START = datetime(2026, 1, 1, tzinfo=UTC)

cents = st.integers(min_value=1, max_value=5_000).map(lambda n: Decimal(n).scaleb(-2))
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(at=instants, zone=offsets)
def test_a_release_counts_for_its_calendar_month_in_utc_whatever_its_zone(
    at: datetime, zone: timezone
) -> None:
    assert month_of(at.astimezone(zone)) == f"{at.year:04d}-{at.month:02d}"


@given(at=instants)
def test_the_instant_before_a_month_begins_belongs_to_the_month_before(at: datetime) -> None:
    first = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    before = first - timedelta(microseconds=1)

    assert month_of(first) != month_of(before)
    assert month_of(before) == f"{before.year:04d}-{before.month:02d}"


def _program(advocate: Decimal | None, referee: Decimal | None, caps: MonthlyCaps) -> Program:
    def terms(amount: Decimal | None) -> RewardTerms | None:
        return None if amount is None else RewardTerms(kind="cash", amount=amount, currency="USD")

    return Program(
        program_id="prg1",
        name="capped",
        qualifying_event="purchase",
        advocate_reward=terms(advocate),
        referee_reward=terms(referee),
        tiers=[],
        attribution_window_days=30,
        holding_period_days=0,
        currency="USD",
        budget_total=Decimal("1000000"),
        caps=caps,
        review_timeout_days=30,
        review_timeout_action="reject",
        auto_reject=True,
        started_at=START,
        created_at=START,
        updated_at=START,
    )


caps_strategy = st.builds(
    MonthlyCaps,
    per_advocate_per_month=st.none() | cents,
    program_per_month=st.none() | cents.map(lambda d: d * 4),
    over_cap=st.sampled_from(["defer", "refuse"]),
)
# (hours after the start, which of three advocates) for each release, over about 3 months
releases = st.lists(
    st.tuples(st.integers(min_value=0, max_value=24 * 92), st.integers(min_value=0, max_value=2)),
    max_size=40,
)


@given(
    advocate=st.none() | cents,
    referee=st.none() | cents,
    caps=caps_strategy,
    schedule=releases,
)
def test_what_each_month_releases_never_passes_its_caps(
    advocate: Decimal | None,
    referee: Decimal | None,
    caps: MonthlyCaps,
    schedule: list[tuple[int, int]],
) -> None:
    # Given a capped program, and releases at random hours across month boundaries
    program = _program(advocate, referee, caps)
    uncapped = _program(advocate, referee, MonthlyCaps())
    per_advocate: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    per_program: dict[str, Decimal] = defaultdict(Decimal)
    for hours, who in sorted(schedule):
        month = month_of(START + timedelta(hours=hours))
        spent = MonthSpent(per_advocate[month, who], per_program[month])
        # When each referral is planned against what its month has spent so far
        plan = plan_release(
            program,
            advocate_customer_id=f"adv{who}",
            referee_customer_id="ref",
            rewarded_referrals=0,
            month_spent=spent,
        )
        whole = plan_release(
            uncapped,
            advocate_customer_id=f"adv{who}",
            referee_customer_id="ref",
            rewarded_referrals=0,
        )
        if plan.deferred_by:
            # deferring releases nothing, and only a refusal withholds
            assert caps.over_cap == "defer"
            continue
        assert caps.over_cap == "refuse" or plan.entitlements == whole.entitlements
        per_advocate[month, who] += plan.advocate_total
        per_program[month] += plan.total
        # Then no month's counters ever pass their caps
        if caps.per_advocate_per_month is not None:
            assert per_advocate[month, who] <= caps.per_advocate_per_month
        if caps.program_per_month is not None:
            assert per_program[month] <= caps.program_per_month
        # and what fitted whole was released whole
        fits_whole = (
            caps.per_advocate_per_month is None
            or spent.advocate + whole.advocate_total <= caps.per_advocate_per_month
        ) and (
            caps.program_per_month is None or spent.program + whole.total <= caps.program_per_month
        )
        if fits_whole:
            assert plan.entitlements == whole.entitlements and not plan.withheld_by_monthly_cap


@given(amount=cents)
def test_a_deferred_referral_fits_in_a_fresh_month(amount: Decimal) -> None:
    # Given a month whose program cap has a cent less room than the referral needs
    caps = MonthlyCaps(program_per_month=amount * 2, over_cap="defer")
    program = _program(amount, amount, caps)

    def plan(spent: MonthSpent) -> object:
        return plan_release(
            program,
            advocate_customer_id="a",
            referee_customer_id="r",
            rewarded_referrals=0,
            month_spent=spent,
        ).deferred_by

    # Then the referral waits in that month, and fits in a later one (nothing spent yet)
    assert plan(MonthSpent(Decimal(0), Decimal("0.01"))) == ("program_per_month",)
    assert plan(MonthSpent()) == ()
