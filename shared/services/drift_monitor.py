"""Feature drift: how far a run's feature values moved from a reference, per feature (PSI).

The reference is the model's own training histograms when it ships them; otherwise the
first large enough run is kept as the reference for its model version, and later runs
are compared with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.clock import Clock
from shared.scoring import drift, rules
from shared.scoring.feature_spec import FEATURE_NAMES
from shared.scoring.serving import ModelJudge

# Rows needed before a run's features are kept as the drift reference.
MIN_REFERENCE_ROWS = 200


class DriftReferenceStore(Protocol):
    def histograms(self, model_version: str) -> dict[str, dict[str, Any]]:
        """The kept reference by feature (empty if none is kept yet)."""
        ...

    def keep_first(
        self,
        model_version: str,
        histograms: dict[str, dict[str, Any]],
        rows: int,
        created_at: datetime,
    ) -> None:
        """Keep this reference unless the version has one already."""
        ...


@dataclass(frozen=True)
class DriftFigures:
    reference: str = "none"  # model | stored | created | none
    psi: dict[str, float] = field(default_factory=dict)


class DriftMonitor:
    def __init__(
        self, references: DriftReferenceStore, clock: Clock, model: ModelJudge | None
    ) -> None:
        self._references = references
        self._clock = clock
        self._judge = model

    @property
    def model_version(self) -> str:
        return self._judge.version if self._judge is not None else rules.RULES_VERSION

    def measure(self, rows: Sequence[Sequence[float]]) -> DriftFigures:
        """PSI of each feature of `rows` (one run's feature rows) against the reference."""
        references = self._judge.reference_histograms() if self._judge is not None else {}
        reference = "none"
        if references:
            reference = "model"
        else:
            references = self._stored()
            if references:
                reference = "stored"
            elif len(rows) >= MIN_REFERENCE_ROWS:
                self._keep(rows)
                return DriftFigures("created")
        return DriftFigures(reference, drift.psi_by_feature(references, rows, FEATURE_NAMES))

    def _stored(self) -> dict[str, drift.Histogram]:
        data = self._references.histograms(self.model_version)
        return {name: drift.Histogram.from_dict(h) for name, h in data.items()}

    def _keep(self, rows: Sequence[Sequence[float]]) -> None:
        """The first large enough run becomes the reference later runs are compared with."""
        histograms = {
            name: drift.reference([row[i] for row in rows]).as_dict()
            for i, name in enumerate(FEATURE_NAMES)
        }
        self._references.keep_first(self.model_version, histograms, len(rows), self._clock.now())
