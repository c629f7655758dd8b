"""Group-goal campaigns: create and read them; pay every participant once the goal is met.

Counting happens in the release (`shared.services.release`): the transaction that releases
a referral also counts it for each of its program's campaigns it qualifies for (see
`shared.domain.campaigns`), conditional on the campaign's version, and records its advocate
as a participant. The referral that meets the goal marks the campaign reached, which puts
it on the reached index.

Paying out is a bounded step of the release job: for each reached campaign (a page of
them per run) each undecided participant gets one transaction that creates the entry
`<campaign_id>-<advocate_id>` (create-once), spends its amount from the program budget
(only if that much is left) and decides the participant (only once). Two runs or a
redelivery at once can therefore never create two entries for one advocate nor spend
twice. An advocate the budget cannot cover is decided `over_budget` with an audit entry
and gets nothing. When every participant is decided the campaign is completed (a
conditional save), and the run whose save commits publishes `campaign.goal_reached`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shared.clock import Clock, iso
from shared.domain.audit import AuditEntry
from shared.domain.campaigns import (
    Campaign,
    CampaignNotFound,
    NewCampaign,
    Participant,
    campaign_reward_id,
)
from shared.domain.changes import BudgetShort, Contention
from shared.domain.rewards import Reward, RewardStatus
from shared.errors import InvalidRequest, NotFound
from shared.ids import new_id
from shared.services.notifications import NO_NOTIFICATIONS, MerchantNotifications, tell

if TYPE_CHECKING:
    from shared.repositories.audit import AuditLog
    from shared.repositories.budget import ProgramBudget
    from shared.repositories.campaigns import CampaignRepository
    from shared.repositories.programs import ProgramRepository
    from shared.repositories.rewards import RewardRepository
    from shared.repositories.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

ACTOR = "system:campaigns"
GOAL_REACHED = "campaign.goal_reached"
# Reached campaigns paid out per release run; the rest wait for the next run.
CAMPAIGNS_PER_RUN = 10


@dataclass(frozen=True)
class CampaignStores:
    programs: ProgramRepository
    campaigns: CampaignRepository
    rewards: RewardRepository
    budget: ProgramBudget
    audit: AuditLog


class CampaignService:
    def __init__(
        self,
        clock: Clock,
        changes: UnitOfWork,
        stores: CampaignStores,
        notifications: MerchantNotifications = NO_NOTIFICATIONS,
    ) -> None:
        self._clock = clock
        self._changes = changes
        self._stores = stores
        self._notifications = notifications

    def now(self) -> datetime:
        return self._clock.now()

    # --- admin --------------------------------------------------------------------------

    def create(self, program_id: str, new: NewCampaign) -> Campaign:
        program = self._stores.programs.get(program_id)
        if program is None:
            raise NotFound(f"no program {program_id}")
        if new.ends_at <= new.starts_at:
            raise InvalidRequest.field("ends_at", "a campaign ends after it starts")
        if new.reward.currency != program.currency:
            raise InvalidRequest.field("reward.currency", f"the program pays in {program.currency}")
        campaign = Campaign(
            campaign_id=new_id("cmp"),
            program_id=program_id,
            name=new.name,
            goal_referrals=new.goal_referrals,
            reward=new.reward,
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            created_at=self._clock.now(),
        )
        self._stores.campaigns.create(campaign)
        logger.info("campaign created", extra={"campaign_id": campaign.campaign_id})
        return campaign

    def get(self, program_id: str, campaign_id: str) -> Campaign:
        campaign = self._stores.campaigns.get(program_id, campaign_id)
        if campaign is None:
            raise CampaignNotFound(campaign_id)
        return campaign

    # --- payout (a step of the release job) ---------------------------------------------

    def pay_reached(self, now: datetime, out_of_time: Callable[[], bool]) -> list[Reward]:
        """Pay a page of reached campaigns; the entries created (to be queued)."""
        created: list[Reward] = []
        for campaign in self._stores.campaigns.reached(CAMPAIGNS_PER_RUN):
            if out_of_time():
                break
            created += self._pay(campaign, now, out_of_time)
        return created

    def _pay(
        self, campaign: Campaign, now: datetime, out_of_time: Callable[[], bool]
    ) -> list[Reward]:
        created: list[Reward] = []
        for participant in self._stores.campaigns.participants(campaign.campaign_id):
            if participant.outcome is not None:
                continue
            if out_of_time():
                return created
            reward = self.pay_one(campaign, participant, now)
            if reward is not None:
                created.append(reward)
        # Read again: a participant lost to contention stays undecided for the next run.
        participants = self._stores.campaigns.participants(campaign.campaign_id)
        if all(p.outcome is not None for p in participants):
            self._complete(campaign, now, len(participants))
        return created

    def pay_one(self, campaign: Campaign, participant: Participant, now: datetime) -> Reward | None:
        """Pay one participant once; None when it was decided already or does not fit."""
        reward = _entry(campaign, participant, now)
        changes = self._changes.begin()
        self._stores.rewards.add(reward, within=changes)
        self._stores.budget.spend(campaign.program_id, reward.amount, within=changes)
        self._stores.campaigns.stage_outcome(participant, "paid", within=changes)
        self._stores.audit.append(
            _audit(campaign, participant, now, "campaign.reward_created", reward.reward_id),
            within=changes,
        )
        try:
            changes.commit()
        except BudgetShort:
            self._over_budget(campaign, participant, now)
            return None
        except Contention:
            return None
        return reward

    def _over_budget(self, campaign: Campaign, participant: Participant, now: datetime) -> None:
        changes = self._changes.begin()
        self._stores.campaigns.stage_outcome(participant, "over_budget", within=changes)
        self._stores.audit.append(
            _audit(campaign, participant, now, "campaign.reward_withheld", None),
            within=changes,
        )
        try:
            changes.commit()
        except Contention:
            return

    def _complete(self, campaign: Campaign, now: datetime, participants: int) -> None:
        changes = self._changes.begin()
        self._stores.campaigns.stage_save(campaign.completed(now), campaign.version, within=changes)
        try:
            changes.commit()
        except Contention:
            return  # another run completed it (and told the merchant)
        data = {
            "campaign_id": campaign.campaign_id,
            "program_id": campaign.program_id,
            "name": campaign.name,
            "goal_referrals": campaign.goal_referrals,
            "qualifying_referrals": campaign.qualifying_referrals,
            "reached_at": iso(campaign.reached_at) if campaign.reached_at else None,
            "participants": participants,
        }
        tell(self._notifications, GOAL_REACHED, campaign.program_id, data, now)


def _entry(campaign: Campaign, participant: Participant, now: datetime) -> Reward:
    terms = campaign.reward
    return Reward(
        reward_id=campaign_reward_id(campaign.campaign_id, participant.advocate_id),
        referral_id=None,
        campaign_id=campaign.campaign_id,
        program_id=campaign.program_id,
        beneficiary="advocate",
        customer_id=participant.customer_id,
        advocate_id=participant.advocate_id,
        kind=terms.kind,
        amount=terms.amount,
        currency=terms.currency,
        points=terms.points,
        charity=terms.charity,
        status=RewardStatus.CREATED,
        created_at=now,
        updated_at=now,
    )


def _audit(
    campaign: Campaign, participant: Participant, now: datetime, action: str, reward_id: str | None
) -> AuditEntry:
    return AuditEntry.record(
        now,
        ACTOR,
        action,
        program_id=campaign.program_id,
        after={"reward_id": reward_id} if reward_id else {"outcome": "over_budget"},
        details={
            "campaign_id": campaign.campaign_id,
            "advocate_id": participant.advocate_id,
            "amount": f"{campaign.reward.amount:f}",
            "currency": campaign.reward.currency,
        },
    )
