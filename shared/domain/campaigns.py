"""Group-goal campaigns: a program's referrals reach a goal together, then every advocate
who brought one of them is rewarded once.

A referral *counts* for a campaign when the release job releases it (it was approved by
the fraud decision or a review, its holding period passed, and it moved `holding ->
rewarding` or `holding -> rewarded`) and its qualifying event (`qualified_at`) falls in the
campaign's window, `starts_at <= qualified_at < ends_at`. It is counted in the same
transaction that releases it, so each referral counts at most once and never twice. The
count stops at the goal: the advocates of the referrals that reached it are the campaign's
participants, and each of them is paid the campaign reward once (`<campaign_id>-<advocate_id>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.programs import RewardTerms
from shared.errors import NotFound

CampaignStatus = Literal["scheduled", "active", "ended", "goal_reached", "completed"]


@dataclass(frozen=True)
class NewCampaign:
    """What an admin asks for: a goal of qualifying referrals in a window, and its reward."""

    name: str
    goal_referrals: int
    reward: RewardTerms
    starts_at: datetime
    ends_at: datetime


class CampaignNotFound(NotFound):
    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"campaign {campaign_id} not found")
        self.campaign_id = campaign_id


class Campaign(BaseModel):
    model_config = ConfigDict(defer_build=True)

    campaign_id: str
    program_id: str
    name: str
    goal_referrals: int
    reward: RewardTerms
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    qualifying_referrals: int = 0
    # When the referral that met the goal was released.
    reached_at: datetime | None = None
    # When every participant was paid (or recorded as not fitting the budget).
    completed_at: datetime | None = None
    version: int = 1

    def status(self, now: datetime) -> CampaignStatus:
        if self.completed_at is not None:
            return "completed"
        if self.reached_at is not None:
            return "goal_reached"
        if now < self.starts_at:
            return "scheduled"
        return "active" if now < self.ends_at else "ended"

    def counts(self, qualified_at: datetime) -> bool:
        """Whether a referral qualified at `qualified_at` still counts towards the goal."""
        if self.reached_at is not None:
            return False
        return self.starts_at <= qualified_at < self.ends_at

    def counted(self, at: datetime) -> Campaign:
        """One more qualifying referral; the one that meets the goal marks it reached."""
        count = self.qualifying_referrals + 1
        reached = at if count >= self.goal_referrals else None
        return self.model_copy(
            update={
                "qualifying_referrals": count,
                "reached_at": reached,
                "version": self.version + 1,
            }
        )

    def completed(self, at: datetime) -> Campaign:
        return self.model_copy(update={"completed_at": at, "version": self.version + 1})


def campaign_reward_id(campaign_id: str, advocate_id: str) -> str:
    """One entry per advocate per campaign; deterministic, so a second payout meets it."""
    return f"{campaign_id}-{advocate_id}"


ParticipantOutcome = Literal["paid", "over_budget"]


class Participant(BaseModel):
    """An advocate with at least one referral that counted towards a campaign."""

    model_config = ConfigDict(defer_build=True)

    campaign_id: str
    advocate_id: str
    customer_id: str
    outcome: ParticipantOutcome | None = None
