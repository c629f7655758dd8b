"""The trained model as scoring sees it: one verdict per feature row, with its drivers.

The model object comes from `shared.scoring.model.load_model`; this module only relies on
its documented surface (`version`, `feature_names`, `thresholds`, `score`, `explain`) and
reads the explanation leniently, so a richer explanation format needs no change here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from shared.scoring.decision import ModelVerdict
from shared.scoring.drift import Histogram
from shared.scoring.feature_spec import SPEC_BY_NAME
from shared.scoring.feature_values import Features
from shared.scoring.policy import PricedLines, ProbabilityKnots

_MEMO_LIMIT = 20_000
DRIVERS = 3


class FraudModelLike(Protocol):
    version: str
    feature_names: Sequence[str]
    thresholds: Any

    def score(self, matrix: Any) -> Any: ...

    def explain(self, row: Any) -> Any: ...


def _threshold(thresholds: Any, name: str) -> float | None:
    if isinstance(thresholds, Mapping):
        value = thresholds.get(name)
    else:
        value = getattr(thresholds, name, None)
    return float(value) if value is not None else None


def _driver_names(explanation: Any) -> list[str]:
    """Feature names from an explanation, strongest first, in any of the usual shapes."""
    if isinstance(explanation, Mapping):
        if "features" in explanation or "drivers" in explanation:
            return _driver_names(explanation.get("drivers", explanation.get("features")))
        ranked = sorted(explanation.items(), key=lambda kv: (-float(kv[1]), str(kv[0])))
        return [str(name) for name, _ in ranked]
    names = []
    for item in explanation or ():
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping):
            names.append(str(item.get("feature") or item.get("name")))
        elif isinstance(item, tuple | list) and item:
            names.append(str(item[0]))
        else:
            names.append(str(getattr(item, "feature", None) or getattr(item, "name", "")))
    return [n for n in names if n]


class ModelJudge:
    """Scores feature rows with the model; memoised, since re-scoring repeats rows."""

    def __init__(self, model: FraudModelLike) -> None:
        self.model = model
        self.version = str(model.version)
        self.feature_names = tuple(model.feature_names)
        unknown = [n for n in self.feature_names if n not in SPEC_BY_NAME]
        if unknown:
            raise ValueError(f"the model expects features the extractor lacks: {unknown}")
        thresholds = model.thresholds
        review = _threshold(thresholds, "review")
        self.review_at = review if review is not None else 50.0
        self.reject_at = _threshold(thresholds, "reject")
        # Without knots (a model trained before them) the priced lines cannot be placed.
        self.knots = ProbabilityKnots.from_manifest(getattr(model, "manifest", None))
        self._memo: dict[tuple[tuple[float, ...], float, float | None], ModelVerdict] = {}

    def row(self, features: Features) -> tuple[float, ...]:
        return tuple(float(features[name]) for name in self.feature_names)

    def verdict(self, features: Features, lines: PricedLines | None = None) -> ModelVerdict:
        """The model's verdict; with `lines` (fraud probabilities), against the program's
        priced review and reject lines instead of the global ones training chose."""
        review_at, reject_at = self.review_at, self.reject_at
        if lines is not None and self.knots is not None:
            on_scores = self.knots.on_scores(lines)
            review_at, reject_at = on_scores.review_at, on_scores.reject_at
        row = self.row(features)
        key = (row, review_at, reject_at)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        import numpy as np  # only functions that score with a model pay for numpy

        matrix = np.asarray([row], dtype=np.float64)
        score = float(np.asarray(self.model.score(matrix), dtype=np.float64).reshape(-1)[0])
        if not math.isfinite(score):
            raise ValueError(f"model {self.version} returned a non-finite score")
        verdict = ModelVerdict(
            version=self.version,
            score=min(max(score, 0.0), 100.0),
            review_at=review_at,
            reject_at=reject_at,
            drivers=self._drivers(matrix, features) if score >= review_at else (),
        )
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = verdict
        return verdict

    def _drivers(self, matrix: Any, features: Features) -> tuple[tuple[str, str, float], ...]:
        names = _driver_names(self.model.explain(matrix[0]))[:DRIVERS]
        return tuple(
            (name, SPEC_BY_NAME[name].explain(features[name]), float(features[name]))
            for name in names
            if name in SPEC_BY_NAME
        )

    def reference_histograms(self) -> dict[str, Histogram]:
        """The training distribution per feature, if the model's manifest carries one."""
        manifest = getattr(self.model, "manifest", None)
        raw = getattr(self.model, "feature_histograms", None)
        if raw is None and isinstance(manifest, Mapping):
            raw = manifest.get("feature_histograms") or manifest.get("reference_histograms")
        if not isinstance(raw, Mapping):
            return {}
        found = {}
        for name, data in raw.items():
            try:
                found[str(name)] = Histogram.from_dict(data)
            except (KeyError, TypeError, ValueError):
                continue
        return found


def load_judge(model_dir: str | Path) -> ModelJudge | None:
    """The model served from `model_dir`, or None when no version has been trained yet.

    A model that exists but cannot be loaded is an error, not a silent fall-back to rules.
    """
    from shared.scoring.model import MANIFEST, load_model, version_dirs

    directory = Path(model_dir)
    if not (directory / MANIFEST).is_file() and not version_dirs(directory):
        return None
    return ModelJudge(load_model(directory))
