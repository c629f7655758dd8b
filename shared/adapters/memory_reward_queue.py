"""An in-memory reward queue for unit tests and the backtest."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from shared.domain.rewards import RewardMessage


@dataclass
class MemoryRewardQueue:
    sent: list[tuple[str, RewardMessage]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send_reward(self, kind: str, reward_id: str, referral_id: str) -> None:
        with self._lock:
            self.sent.append((kind, RewardMessage(reward_id=reward_id, referral_id=referral_id)))

    def take(self) -> list[tuple[str, RewardMessage]]:
        with self._lock:
            taken, self.sent = self.sent, []
        return taken
