"""The serving-side fraud model: load a trained version and turn feature rows into risk.

A version lives in ``models/<version>/`` as ``manifest.json`` plus array artifacts.
``models/CURRENT`` names the version to serve; without it the newest one is used.

Count and duration features are ``log1p``-transformed first (``preprocess`` in the
manifest), so heavy tails do not swamp moderate anomalies.

Risk is a 0-100 number, higher is riskier, made from the isolation forest's
anomaly score and, when the version carries one, a supervised fraud probability:

* ``quantile`` calibration (no labels at training time): risk is the share of
  training traffic that was less anomalous, so 99 means "stranger than 99% of
  what the model was trained on".
* ``platt`` calibration (labels at training time): the anomaly score is mapped to
  a fraud probability with a logistic fit on a validation split; a supervised
  probability, if present, is combined with it as a noisy-OR,
  ``1 - (1 - p_anomaly) (1 - p_supervised)``, so either detector alone can raise
  risk. The supervised model only knows the fraud it was shown; the anomaly
  detector is what still notices a new pattern, and the OR keeps its voice.

Explanations credit each feature with how early it isolated the referral in the
forest's trees (see ``IsolationForestScorer.attribution``), minus the credit it
gets on typical training traffic, and keep only features whose value is on the
suspicious side of the training median (``FeatureSpec.direction``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from shared.scoring.feature_spec import SPEC_BY_NAME
from shared.scoring.isolation_forest import IsolationForestScorer
from shared.scoring.supervised import GradientBoostingScorer, expit

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
MANIFEST_FORMAT = 1

Decision = Literal["approve", "review", "reject"]
FloatArray = npt.NDArray[np.float64]

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ModelError(Exception):
    """A model directory or artifact is missing, inconsistent or unreadable."""


@dataclass(frozen=True)
class Thresholds:
    """Lowest risk score of each decision band: approve <= review <= reject."""

    review: float
    reject: float
    approve: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.approve <= self.review <= self.reject <= 100.0:
            raise ModelError(
                f"thresholds must satisfy 0 <= approve <= review <= reject <= 100: {self}"
            )

    def decide(self, score: float) -> Decision:
        if score >= self.reject:
            return "reject"
        if score >= self.review:
            return "review"
        return "approve"

    def __getitem__(self, decision: str) -> float:
        if decision not in ("approve", "review", "reject"):
            raise KeyError(decision)
        return float(getattr(self, decision))

    def as_dict(self) -> dict[str, float]:
        return {"approve": self.approve, "review": self.review, "reject": self.reject}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Thresholds:
        return cls(
            approve=float(data.get("approve", 0.0)),
            review=float(data["review"]),
            reject=float(data["reject"]),
        )


class Attribution(NamedTuple):
    feature: str
    contribution: float
    value: float


class FraudModel:
    """One trained model version, ready to score feature rows."""

    def __init__(self, manifest: Mapping[str, Any], directory: Path) -> None:
        try:
            if int(manifest.get("format", 0)) != MANIFEST_FORMAT:
                raise ModelError(f"unsupported manifest format {manifest.get('format')!r}")
            self.manifest = dict(manifest)
            self.directory = directory
            self.version = str(manifest["version"])
            self.feature_names: Sequence[str] = tuple(manifest["feature_names"])
            self.thresholds = Thresholds.from_dict(manifest["thresholds"])
            self._load_artifacts(manifest["artifacts"], directory)
            self._load_calibration(manifest["calibration"])
            self._log1p = self._log1p_columns(manifest.get("preprocess", {}))
            explain = manifest["explain"]
            self._baseline = np.asarray(explain["baseline"], dtype=np.float64)
            self._median = np.asarray(explain["median"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"invalid model in {directory}: {exc}") from exc
        self._check_shapes()
        self._direction = [
            SPEC_BY_NAME[name].direction if name in SPEC_BY_NAME else None
            for name in self.feature_names
        ]

    def _load_artifacts(self, artifacts: Mapping[str, Any], directory: Path) -> None:
        self.anomaly_model = IsolationForestScorer.load(_verified(directory, artifacts["anomaly"]))
        self.supervised_model: GradientBoostingScorer | None = None
        if artifacts.get("supervised"):
            self.supervised_model = GradientBoostingScorer.load(
                _verified(directory, artifacts["supervised"])
            )

    def _load_calibration(self, calibration: Mapping[str, Any]) -> None:
        self.calibration_method = str(calibration["method"])
        if self.calibration_method == "quantile":
            self._knots = np.asarray(calibration["anomaly_knots"], dtype=np.float64)
            self._levels = np.asarray(calibration["levels"], dtype=np.float64)
            if self._knots.shape != self._levels.shape or self._knots.size < 2:
                raise ModelError("quantile calibration needs matching knots and levels")
        elif self.calibration_method == "platt":
            self._slope = float(calibration["slope"])
            self._intercept = float(calibration["intercept"])
        else:
            raise ModelError(f"unknown calibration method {self.calibration_method!r}")

    def _log1p_columns(self, preprocess: Mapping[str, Any]) -> list[int]:
        log1p = list(preprocess.get("log1p", []))
        unknown = sorted(set(log1p) - set(self.feature_names))
        if unknown:
            raise ModelError(f"preprocess names unknown features: {unknown}")
        return [self.feature_names.index(name) for name in log1p]

    def _check_shapes(self) -> None:
        n = len(self.feature_names)
        models = [self.anomaly_model, self.supervised_model]
        if any(m is not None and m.n_features != n for m in models):
            raise ModelError("artifact feature count disagrees with the manifest")
        if self._baseline.shape != (n,) or self._median.shape != (n,):
            raise ModelError("explain statistics disagree with the feature count")

    def __repr__(self) -> str:
        return f"FraudModel(version={self.version!r}, features={len(self.feature_names)})"

    def _matrix(self, matrix: npt.ArrayLike) -> FloatArray:
        x = np.asarray(matrix, dtype=np.float64)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise ValueError(
                f"expected rows of {len(self.feature_names)} features, got shape {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError("feature values must be finite")
        return x

    def prepare(self, matrix: npt.ArrayLike) -> FloatArray:
        """Validated rows as the artifacts expect them (after the manifest's preprocessing)."""
        return log1p_columns(self._matrix(matrix), self._log1p)

    def anomaly(self, matrix: npt.ArrayLike) -> FloatArray:
        """Raw anomaly score in (0, 1], higher is more abnormal."""
        return self.anomaly_model.anomaly(self.prepare(matrix))

    def score(self, matrix: npt.ArrayLike) -> FloatArray:
        """Risk 0-100 for each row (a single 1-D row gives an array of one)."""
        x = self.prepare(matrix)
        anomaly = self.anomaly_model.anomaly(x)
        if self.calibration_method == "quantile":
            return np.asarray(100.0 * np.interp(anomaly, self._knots, self._levels))
        probability = expit(self._slope * anomaly + self._intercept)
        if self.supervised_model is not None:
            supervised = self.supervised_model.predict_proba(x)
            probability = 1.0 - (1.0 - probability) * (1.0 - supervised)
        return np.clip(100.0 * probability, 0.0, 100.0)

    def decide(self, score: float) -> Decision:
        return self.thresholds.decide(score)

    def explain(self, row: npt.ArrayLike, top: int | None = 5) -> list[Attribution]:
        """Features that drove this row's anomaly, strongest first.

        ``contribution`` is the row's isolation credit minus the typical credit on
        training traffic (per-tree, so comparable across rows); only positive
        contributions on the feature's suspicious side are returned.
        """
        x = self._matrix(row)
        if x.shape[0] != 1:
            raise ValueError("explain takes a single row")
        credit = self.anomaly_model.attribution(log1p_columns(x, self._log1p))[0] - self._baseline
        values = x[0]
        found = []
        for i, name in enumerate(self.feature_names):
            contribution = float(credit[i])
            if contribution <= 0.0 or not self._suspicious_side(i, float(values[i])):
                continue
            found.append(Attribution(name, contribution, float(values[i])))
        found.sort(key=lambda a: (-a.contribution, a.feature))
        return found if top is None else found[:top]

    def _suspicious_side(self, index: int, value: float) -> bool:
        direction = self._direction[index]
        median = float(self._median[index])
        if direction == "high":
            return value > median
        if direction == "low":
            return value < median
        return not math.isclose(value, median)


def log1p_columns(matrix: FloatArray, columns: Sequence[int]) -> FloatArray:
    """``log1p`` of the given columns (negatives clipped to 0), others unchanged.

    Isolation trees split uniformly between a node's minimum and maximum, so a
    heavy tail (one influencer with 300 referrals a day) would leave the moderate
    but telling values (eight referrals from one device) unsplit. Logs even that out.
    """
    if not columns:
        return matrix
    out = matrix.copy()
    out[:, columns] = np.log1p(np.maximum(out[:, columns], 0.0))
    return out


def _verified(directory: Path, entry: Mapping[str, Any]) -> Path:
    name = str(entry["file"])
    if not _PLAIN_NAME.match(name):
        raise ModelError(f"artifact name {name!r} is not a plain file name")
    path = directory / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read artifact {path}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ModelError(f"artifact {path} does not match its recorded SHA-256")
    return path


def read_manifest(version_dir: Path) -> dict[str, Any]:
    path = version_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ModelError(f"{path} is not a JSON object")
    return manifest


def version_dirs(model_dir: Path) -> list[Path]:
    if not model_dir.is_dir():
        return []
    return sorted(p for p in model_dir.iterdir() if (p / MANIFEST).is_file())


def resolve_version_dir(model_dir: Path) -> Path:
    """The version directory to serve from ``model_dir`` (itself, CURRENT, or newest)."""
    model_dir = Path(model_dir)
    if (model_dir / MANIFEST).is_file():
        return model_dir
    current = model_dir / CURRENT
    if current.is_file():
        name = current.read_text(encoding="utf-8").strip()
        if not _PLAIN_NAME.match(name):
            raise ModelError(f"{current} does not name a version: {name!r}")
        if not (model_dir / name / MANIFEST).is_file():
            raise ModelError(f"{current} names {name!r}, which has no {MANIFEST}")
        return model_dir / name
    candidates = version_dirs(model_dir)
    if not candidates:
        raise ModelError(f"no trained model in {model_dir} (expected <version>/{MANIFEST})")

    def newest(path: Path) -> tuple[str, str]:
        return (str(read_manifest(path).get("created_at", "")), path.name)

    return max(candidates, key=newest)


def load_model(model_dir: Path) -> FraudModel:
    """Load the version ``models/CURRENT`` names, else the newest in ``model_dir``."""
    version_dir = resolve_version_dir(Path(model_dir))
    return FraudModel(read_manifest(version_dir), version_dir)
