"""Campaigns, their participants, and the index of campaigns whose goal is reached.

A program's campaigns live in one partition (`PROGRAM#<id>#CAMPAIGNS`), so the release
reads them with one query. A reached, not yet completed campaign is also on gsi2 under
`CAMPAIGNS#REACHED`, which the release job walks to pay it out; completing it leaves the
index. Participants live in the campaign's partition, one item per advocate.
"""

from __future__ import annotations

from shared.clock import iso
from shared.domain.campaigns import Campaign, Participant, ParticipantOutcome
from shared.domain.changes import Contention
from shared.repositories.codec import from_item, to_doc
from shared.repositories.unit_of_work import Changes
from shared.storage.table import (
    Equals,
    Item,
    KeyRange,
    Missing,
    NotExists,
    Put,
    Table,
    Update,
    query_all,
)

CAMPAIGN_PREFIX = "CAMPAIGN#"
PARTICIPANT_PREFIX = "ADVOCATE#"
REACHED_INDEX = "CAMPAIGNS#REACHED"


def _campaign_key(program_id: str, campaign_id: str) -> tuple[str, str]:
    return (f"PROGRAM#{program_id}#CAMPAIGNS", f"{CAMPAIGN_PREFIX}{campaign_id}")


def _participant_key(campaign_id: str, advocate_id: str) -> tuple[str, str]:
    return (f"{CAMPAIGN_PREFIX}{campaign_id}", f"{PARTICIPANT_PREFIX}{advocate_id}")


class CampaignRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def _item(self, campaign: Campaign) -> Item:
        pk, sk = _campaign_key(campaign.program_id, campaign.campaign_id)
        item: Item = {
            "pk": pk,
            "sk": sk,
            "type": "campaign",
            "version": campaign.version,
            "doc": to_doc(campaign),
        }
        if campaign.reached_at is not None and campaign.completed_at is None:
            item["gsi2pk"] = REACHED_INDEX
            item["gsi2sk"] = f"{iso(campaign.reached_at)}#{campaign.campaign_id}"
        return item

    def create(self, campaign: Campaign) -> None:
        self._table.write([Put(self._item(campaign), NotExists())])

    def get(self, program_id: str, campaign_id: str) -> Campaign | None:
        item = self._table.get(*_campaign_key(program_id, campaign_id))
        return from_item(Campaign, item) if item else None

    def of_program(self, program_id: str) -> list[Campaign]:
        pk, _ = _campaign_key(program_id, "")
        items = query_all(self._table, pk, key_range=KeyRange(begins_with=CAMPAIGN_PREFIX))
        return [from_item(Campaign, item) for item in items]

    def reached(self, limit: int) -> list[Campaign]:
        """Reached campaigns not yet completed, oldest first (read again before changing)."""
        page = self._table.query(REACHED_INDEX, index="gsi2", limit=limit)
        found = [from_item(Campaign, item) for item in page.items]
        return [c for c in (self.get(c.program_id, c.campaign_id) for c in found) if c]

    def stage_save(self, campaign: Campaign, expected_version: int, *, within: Changes) -> None:
        """Save with `within` if still `expected_version` (otherwise `Contention`)."""
        within.stage(Put(self._item(campaign), Equals("version", expected_version)))

    # --- participants -------------------------------------------------------------------

    @staticmethod
    def stage_participant(
        campaign_id: str, advocate_id: str, customer_id: str, *, within: Changes
    ) -> None:
        """Record (or count again) the advocate as a participant with `within`."""
        pk, sk = _participant_key(campaign_id, advocate_id)
        within.stage(
            Update(
                pk,
                sk,
                set={
                    "type": "campaign_participant",
                    "campaign_id": campaign_id,
                    "advocate_id": advocate_id,
                    "customer_id": customer_id,
                },
                add={"referrals": 1},
            )
        )

    def participants(self, campaign_id: str) -> list[Participant]:
        pk, _ = _participant_key(campaign_id, "")
        items = query_all(self._table, pk, key_range=KeyRange(begins_with=PARTICIPANT_PREFIX))
        return [
            Participant(
                campaign_id=item["campaign_id"],
                advocate_id=item["advocate_id"],
                customer_id=item["customer_id"],
                outcome=item.get("outcome"),
            )
            for item in items
        ]

    @staticmethod
    def stage_outcome(
        participant: Participant, outcome: ParticipantOutcome, *, within: Changes
    ) -> None:
        """Decide the participant once with `within`: a second decision is `Contention`."""
        pk, sk = _participant_key(participant.campaign_id, participant.advocate_id)
        within.stage(
            Update(pk, sk, set={"outcome": outcome}, condition=Missing("outcome")),
            lambda: Contention(participant.advocate_id),
        )
