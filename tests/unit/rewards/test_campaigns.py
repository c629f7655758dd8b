"""Group-goal campaigns: released referrals in the window count once; at the goal every
participating advocate is paid the campaign reward once, within the budget."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.adapters.webhook_queue import MemoryWebhookQueue
from shared.bootstrap import Services, bootstrap
from shared.domain.campaigns import Campaign, NewCampaign
from shared.domain.programs import RewardTerms
from shared.domain.rewards import RewardStatus
from shared.errors import InvalidRequest, NotFound
from shared.pii import PiiHasher
from shared.repositories.audit import AuditLog
from shared.repositories.campaigns import CampaignRepository
from shared.schemas.campaigns import CampaignCreate
from tests.support import T0
from tests.unit.rewards.conftest import World

BONUS = RewardTerms(kind="gift_card", amount=Decimal("50.00"), currency="USD")


def _services(world: World) -> tuple[Services, MemoryWebhookQueue]:
    outbox = MemoryWebhookQueue()
    services = bootstrap(
        table=world.table,
        clock=world.clock,
        hasher=PiiHasher(lambda: b"k" * 32),
        providers=world.providers,
        reward_queue=world.queue,
        notifications=outbox,
    )
    world.release = services.release
    return services, outbox


def _campaign(services: Services, program_id: str, goal: int = 3, **changes: object) -> Campaign:
    new = NewCampaign(
        name="Spring goal",
        goal_referrals=goal,
        reward=BONUS,
        starts_at=T0 - timedelta(days=1),
        ends_at=T0 + timedelta(days=30),
    )
    return services.campaigns.create(program_id, NewCampaign(**{**new.__dict__, **changes}))


Reached = tuple[Services, MemoryWebhookQueue, Campaign, list[str]]


def _reached_world(world: World, budget: str = "5000.00") -> Reached:
    """A program whose campaign's goal of 3 is met by two advocates (2 + 1 referrals);
    `world.referrals` holds the referral ids."""
    services, outbox = _services(world)
    program_id = world.program(budget={"amount": budget, "currency": "USD"}, tiers=[])
    campaign = _campaign(services, program_id)
    first, first_code = world.advocate(program_id)
    second, second_code = world.advocate(program_id)
    world.referral_ids = [
        world.approved(program_id, code) for code in (first_code, first_code, second_code)
    ]
    return services, outbox, campaign, [first, second]


# --- the domain ---------------------------------------------------------------------------


@given(goal=st.integers(min_value=1, max_value=30), extra=st.integers(min_value=0, max_value=5))
def test_the_referral_that_meets_the_goal_marks_it_reached_and_later_ones_do_not_count(
    goal: int, extra: int
) -> None:
    campaign = Campaign(
        campaign_id="cmp_1",
        program_id="prg_1",
        name="n",
        goal_referrals=goal,
        reward=BONUS,
        starts_at=T0,
        ends_at=T0 + timedelta(days=1),
        created_at=T0,
    )
    for n in range(goal + extra):
        if campaign.counts(T0):
            campaign = campaign.counted(T0 + timedelta(seconds=n))
    assert campaign.qualifying_referrals == goal
    assert campaign.reached_at == T0 + timedelta(seconds=goal - 1)
    assert campaign.status(T0) == "goal_reached"


def test_a_referral_counts_only_if_it_qualified_inside_the_window() -> None:
    campaign = Campaign(
        campaign_id="cmp_1",
        program_id="prg_1",
        name="n",
        goal_referrals=1,
        reward=BONUS,
        starts_at=T0,
        ends_at=T0 + timedelta(days=1),
        created_at=T0,
    )
    assert campaign.counts(T0)
    assert not campaign.counts(T0 - timedelta(seconds=1))
    assert not campaign.counts(T0 + timedelta(days=1))


# --- creating -----------------------------------------------------------------------------


def test_a_campaign_ending_before_it_starts_is_refused_naming_ends_at(world: World) -> None:
    services, _ = _services(world)
    program_id = world.program()
    with pytest.raises(InvalidRequest) as refused:
        _campaign(services, program_id, ends_at=T0 - timedelta(days=1))
    assert refused.value.errors[0].field == "ends_at"


def test_a_campaign_paying_in_another_currency_is_refused_naming_the_currency(
    world: World,
) -> None:
    services, _ = _services(world)
    program_id = world.program()
    euros = RewardTerms(kind="cash", amount=Decimal("5.00"), currency="EUR")
    with pytest.raises(InvalidRequest) as refused:
        _campaign(services, program_id, reward=euros)
    assert refused.value.errors[0].field == "reward.currency"


def test_a_campaign_of_an_unknown_program_is_not_found(world: World) -> None:
    services, _ = _services(world)
    with pytest.raises(NotFound):
        _campaign(services, "prg_missing")


# --- counting and paying ------------------------------------------------------------------


def test_a_reached_goal_pays_each_participating_advocate_once(world: World) -> None:
    # Given three approved referrals of two advocates towards a goal of three
    services, outbox, campaign, advocates = _reached_world(world)

    # When the release job runs twice and the fulfilment queue drains
    world.release.run()
    world.release.run()
    world.drain()

    # Then each advocate has exactly one confirmed campaign entry, filed under the campaign
    entries = world.ledger.rewards_of(campaign.campaign_id)
    assert sorted(e.reward_id for e in entries) == sorted(
        f"{campaign.campaign_id}-{a}" for a in advocates
    )
    for entry in entries:
        assert entry.referral_id is None and entry.campaign_id == campaign.campaign_id
        assert entry.amount == Decimal("50.00") and entry.status == RewardStatus.CONFIRMED
    shown = services.campaigns.get(campaign.program_id, campaign.campaign_id)
    assert shown.qualifying_referrals == 3 and shown.reached_at is not None
    assert shown.status(world.clock.now()) == "completed"
    # And the merchant is told once
    told = outbox.of_type("campaign.goal_reached")
    assert [e.data["campaign_id"] for e in told] == [campaign.campaign_id]


def test_the_campaign_reward_is_spent_from_the_program_budget(world: World) -> None:
    _, _, campaign, _ = _reached_world(world)
    before = world.budget_left(campaign.program_id)

    world.release.run()

    # three referrals (10 + 10 each) and two campaign entries of 50
    assert before - world.budget_left(campaign.program_id) == Decimal("160.00")


def test_short_of_the_goal_nobody_is_paid(world: World) -> None:
    services, outbox = _services(world)
    program_id = world.program(tiers=[])
    campaign = _campaign(services, program_id, goal=5)
    _, code = world.advocate(program_id)
    world.approved(program_id, code)

    world.release.run()

    assert world.ledger.rewards_of(campaign.campaign_id) == []
    shown = services.campaigns.get(program_id, campaign.campaign_id)
    assert (shown.qualifying_referrals, shown.status(world.clock.now())) == (1, "active")
    assert outbox.of_type("campaign.goal_reached") == []


def test_a_referral_qualified_before_the_window_does_not_count(world: World) -> None:
    services, _ = _services(world)
    program_id = world.program(tiers=[])
    campaign = _campaign(services, program_id, goal=1, starts_at=T0 + timedelta(hours=1))
    _, code = world.advocate(program_id)
    world.approved(program_id, code)

    world.release.run()

    assert services.campaigns.get(program_id, campaign.campaign_id).qualifying_referrals == 0


def test_advocates_the_budget_cannot_cover_get_nothing_and_are_audited(world: World) -> None:
    # Given a budget that covers the three referrals (60) and one campaign entry (50) only
    services, _, campaign, _ = _reached_world(world, budget="110.00")

    world.release.run()
    world.release.run()

    entries = world.ledger.rewards_of(campaign.campaign_id)
    assert len(entries) == 1
    assert world.budget_left(campaign.program_id) == Decimal("0.00")
    actions = [e.action for e in AuditLog(world.table).for_program(campaign.program_id)[0]]
    assert actions.count("campaign.reward_withheld") == 1
    assert services.campaigns.get(campaign.program_id, campaign.campaign_id).completed_at


def test_two_runs_racing_create_one_entry_per_advocate(world: World) -> None:
    # Given a reached campaign whose participants were counted by a release
    _, _outbox, campaign, advocates = _reached_world(world)
    for referral_id in world.referral_ids:
        world.release.release(referral_id)
    before = world.budget_left(campaign.program_id)
    racers = [_services(world)[0].campaigns for _ in range(4)]
    start = threading.Barrier(len(racers))

    def run(payouts: object) -> None:
        start.wait()
        payouts.pay_reached(world.clock.now(), lambda: False)  # type: ignore[attr-defined]

    # When four payout runs race
    threads = [threading.Thread(target=run, args=(p,)) for p in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each advocate has one entry and the budget paid for two, not eight
    entries = world.ledger.rewards_of(campaign.campaign_id)
    assert sorted(e.advocate_id for e in entries) == sorted(advocates)
    assert before - world.budget_left(campaign.program_id) == Decimal("100.00")


def test_a_completed_campaign_leaves_the_reached_index(world: World) -> None:
    _, _, _campaign, _ = _reached_world(world)
    world.release.run()
    assert CampaignRepository(world.table).reached(10) == []


# --- the request body ---------------------------------------------------------------------


def _body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "Spring goal",
        "goal_referrals": 3,
        "reward": {"kind": "cash", "amount": "5.00", "currency": "USD"},
        "starts_at": "2026-11-01T00:00:00Z",
        "ends_at": "2026-12-01T00:00:00Z",
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"goal_referrals": 0}, "goal_referrals"),
        ({"reward": {"kind": "points", "amount": "5.00", "currency": "USD"}}, "reward"),
        ({"reward": {"kind": "cash", "amount": "0.00", "currency": "USD"}}, "reward"),
    ],
)
def test_a_bad_campaign_body_names_its_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CampaignCreate.model_validate(_body(**changes))
    assert refused.value.errors()[0]["loc"][0] == field


def test_a_campaign_body_becomes_the_command_with_its_reward_terms() -> None:
    new = CampaignCreate.model_validate(_body()).command()
    assert (new.goal_referrals, new.reward.kind, new.reward.amount) == (3, "cash", Decimal("5.00"))
