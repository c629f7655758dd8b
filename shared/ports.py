"""Ports the services talk to; adapters live in `shared.adapters`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


class ScoringQueue(Protocol):
    def request_scoring(self, referral_id: str, trigger: str) -> None:
        """Ask for the referral to be scored; delivery is at least once."""
        ...


# --- blocklist ------------------------------------------------------------------------------

BlockKind = Literal["advocate", "email_domain", "device", "ip", "payment"]
BLOCK_KINDS: tuple[BlockKind, ...] = ("advocate", "email_domain", "device", "ip", "payment")


@dataclass(frozen=True)
class BlockEntry:
    """One blocked value. `value_hash` is the same keyed hash the evidence index uses
    (`PiiHasher.digest` of the matching `PiiKind`); for `advocate` it is the `advocate_id`
    itself (an identifier this service issued, not personal data)."""

    entry_id: str
    kind: BlockKind
    value_hash: str
    reason: str | None = None


class Blocklist(Protocol):
    def blocked(self, kind: BlockKind, value_hash: str) -> BlockEntry | None:
        """The active entry blocking this value, if any."""
        ...


class RewardQueue(Protocol):
    def send_reward(self, kind: str, reward_id: str, referral_id: str) -> None:
        """Queue one ledger entry for fulfilment on its kind's queue (`gift_card`, `cash`
        or `points`); delivery is at least once, and fulfilment is idempotent."""
        ...
