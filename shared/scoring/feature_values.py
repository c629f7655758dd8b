"""One referral's feature values: what rules, the model and drift read.

A value type with no I/O, so the rules depend on feature values alone and never on how
they were read (`shared.scoring.features` builds them from stored evidence).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.domain.referrals import Referral
from shared.scoring.feature_spec import FEATURE_NAMES


@dataclass(frozen=True)
class Features:
    """Feature values by name (`values`, in `FEATURE_NAMES` order) plus the raw evidence
    behind them (`evidence`: customers, links, counts, for reasons and reviewers).
    Indexing by name reads `values`."""

    referral_id: str
    as_of: datetime
    values: dict[str, float]
    evidence: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(FEATURE_NAMES)

    def __len__(self) -> int:
        return len(FEATURE_NAMES)

    def keys(self) -> tuple[str, ...]:
        return FEATURE_NAMES

    def row(self) -> list[float]:
        return [self.values[name] for name in FEATURE_NAMES]


class FeatureSource(Protocol):
    """Anything that gives a referral's features as of a moment."""

    def extract(
        self, referral_id: str, as_of: datetime, referral: Referral | None = None
    ) -> Features: ...
