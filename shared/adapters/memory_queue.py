"""An in-memory scoring queue for unit tests and the backtest."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MemoryScoringQueue:
    requests: list[tuple[str, str]] = field(default_factory=list)

    def request_scoring(self, referral_id: str, trigger: str) -> None:
        self.requests.append((referral_id, trigger))

    def take(self) -> list[tuple[str, str]]:
        taken, self.requests = self.requests, []
        return taken
