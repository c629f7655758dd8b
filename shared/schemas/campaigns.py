"""Group-goal campaign requests and responses."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from shared.domain.campaigns import Campaign, CampaignStatus, NewCampaign
from shared.schemas.common import Out, Strict, Timestamp
from shared.schemas.programs import RewardIn, RewardOut


class CampaignCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Spring group goal"])
    goal_referrals: int = Field(
        ge=1,
        le=1_000_000,
        description="Qualifying referrals the program's advocates reach together",
    )
    reward: RewardIn = Field(description="What each participating advocate gets once")
    starts_at: Timestamp = Field(description="A referral counts if it qualified at or after this")
    ends_at: Timestamp = Field(description="... and before this (later than starts_at)")

    @field_validator("reward")
    @classmethod
    def _paid_in_money(cls, reward: RewardIn) -> RewardIn:
        # A points reward is priced by the program's point value at release; a campaign
        # pays money (gift card, cash or a donation).
        if reward.kind == "points":
            raise ValueError("a campaign reward is a gift_card, cash or charity_donation")
        return reward

    def command(self) -> NewCampaign:
        return NewCampaign(
            name=self.name,
            goal_referrals=self.goal_referrals,
            reward=self.reward.terms(),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
        )


class CampaignProgressOut(Out):
    qualifying_referrals: int = Field(description="Released referrals counted so far")
    goal_referrals: int
    reached_at: Timestamp | None = Field(description="When the goal was met; null until then")


class CampaignOut(Out):
    campaign_id: str
    program_id: str
    name: str
    goal_referrals: int
    reward: RewardOut
    starts_at: Timestamp
    ends_at: Timestamp
    status: CampaignStatus = Field(
        description="scheduled, active, ended (window closed short of the goal), goal_reached "
        "(paying out), completed (every participant paid or refused by the budget)"
    )
    progress: CampaignProgressOut

    @classmethod
    def of(cls, campaign: Campaign, now: datetime) -> CampaignOut:
        return cls(
            campaign_id=campaign.campaign_id,
            program_id=campaign.program_id,
            name=campaign.name,
            goal_referrals=campaign.goal_referrals,
            reward=RewardOut.of(campaign.reward, campaign.reward.currency),
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
            status=campaign.status(now),
            progress=CampaignProgressOut(
                qualifying_referrals=campaign.qualifying_referrals,
                goal_referrals=campaign.goal_referrals,
                reached_at=campaign.reached_at,
            ),
        )
