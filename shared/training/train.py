"""Train, calibrate, evaluate and write one fraud model version.

``train`` takes feature matrices (columns in ``FEATURE_NAMES`` order), optional
labels (1 = fraud) and optional pattern names per row, and writes
``<out_dir>/<version>/`` with the artifact(s), ``manifest.json``, ``model_card.md``
and ``pr_curve.png``.

Data handling:

* Rows of the held-out fraud pattern never reach fitting, calibration or
  threshold choice; they are only scored at the end, to measure generalisation.
* The remaining rows are split (stratified by pattern, else by label) into
  train / validation / test. The isolation forest is fitted on the training rows
  without looking at labels. Calibration, the supervised-model decision and the
  thresholds use the validation rows; every reported metric uses the test rows.
* A gradient-boosted classifier is added only when labels exist and it raises
  validation PR-AUC by at least ``min_supervised_gain`` over the anomaly score alone.

Thresholds follow ``evaluate.choose_thresholds``: a hard cap on auto-rejected
legitimate referrals, then a review band sized to the finance team's capacity and capped
by the share of legitimate referrals it may hold.

Every score used for calibration, thresholds and metrics comes from the numpy
scorer that serves in production, not from scikit-learn, so what is reported is
what runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.ensemble import GradientBoostingClassifier, IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from shared.scoring import drift
from shared.scoring.feature_spec import FEATURE_NAMES, FEATURES
from shared.scoring.isolation_forest import IsolationForestScorer
from shared.scoring.model import (
    CURRENT,
    MANIFEST,
    MANIFEST_FORMAT,
    FraudModel,
    Thresholds,
    log1p_columns,
)
from shared.scoring.policy import ProbabilityKnots
from shared.scoring.supervised import GradientBoostingScorer
from shared.training.evaluate import (
    Split,
    choose_thresholds,
    enough_labels,
    evaluate,
    priced_table,
    split_rows,
)
from shared.training.export import export_gradient_boosting, export_isolation_forest, write_npz
from shared.training.report import model_card, plot_pr

ANOMALY_FILE = "isolation_forest.npz"
SUPERVISED_FILE = "gradient_boosting.npz"
QUANTILE_LEVELS = 201
LOG1P_KINDS = ("count", "seconds", "days")


@dataclass(frozen=True)
class TrainConfig:
    n_estimators: int = 200
    max_samples: int = 256
    target_review_rate: float = 0.01
    reject_legit_fpr: float = 0.002
    # Re-scoring gives a legitimate referral several chances to cross the review line
    # before it is paid, so the line sits below the end-to-end budget for flagged legit.
    review_legit_fpr: float = 0.004
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    min_supervised_gain: float = 0.01
    min_fraud_for_labels: int = 8
    gb_n_estimators: int = 150
    gb_max_depth: int = 3
    gb_learning_rate: float = 0.1
    gb_subsample: float = 0.8
    explain_baseline_rows: int = 2000


@dataclass(frozen=True)
class _Fitted:
    anomaly_arrays: dict[str, np.ndarray]
    anomaly_scorer: IsolationForestScorer
    anomaly: np.ndarray  # anomaly score of every row
    calibration: dict[str, Any]
    supervised_arrays: dict[str, np.ndarray] | None
    supervised_note: dict[str, Any]


@dataclass(frozen=True)
class _Rows:
    """The checked training rows, their split and the features as the models see them."""

    raw: np.ndarray  # features as given, in ``feature_names`` order
    x: np.ndarray  # the same with the count/seconds/days columns through log1p
    y: np.ndarray | None
    patterns: list[str] | None
    split: Split
    feature_names: Sequence[str]
    log1p: list[str]


def train(
    features: np.ndarray,
    labels: np.ndarray | Sequence[Any] | None,
    patterns: Sequence[str] | None,
    out_dir: Path,
    *,
    seed: int,
    config: TrainConfig | None = None,
    feature_names: Sequence[str] = FEATURE_NAMES,
    held_out_pattern: str | None = None,
    data_sha256: str | None = None,
    data_description: str | None = None,
    created_at: datetime | None = None,
    set_current: bool = True,
) -> dict[str, Any]:
    """Fit, evaluate and write ``out_dir/<version>/``; returns the version's manifest.

    ``labels`` are 0/1 (1 = fraud) or "legit"/"fraud"; ``patterns`` name each row's
    generator pattern (enables the held-out pattern and per-pattern recall). The
    version is ``if-`` (or ``ifgb-`` with a supervised model), the ``created_at`` date
    and a hash of the artifacts and settings: same data, seed and date, same version.
    """
    config = config or TrainConfig()
    raw = _check_features(features, feature_names)
    y = _check_labels(labels, len(raw))
    pattern_list = _check_patterns(patterns, len(raw))
    created = _created_at(created_at)
    rows = _split(raw, y, pattern_list, feature_names, held_out_pattern, config, seed)
    fitted = _fit(rows.x, rows.y, rows.split, config, seed)

    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=_ensure_dir(out_dir)))
    try:
        manifest = _model_manifest(staging, rows, fitted, config, created)
        # Score through the serving code path, so thresholds and metrics describe what runs.
        risk = FraudModel(manifest, staging).score(rows.raw)
        thresholds = _thresholds(risk, rows, config)
        knots = _keep_probability_knots(manifest, risk, rows)
        anomaly_only = _anomaly_only(fitted)
        metrics = evaluate(
            risk, anomaly_only, rows.y, rows.patterns, rows.split, thresholds, held_out_pattern
        )
        metrics["priced_policy"] = priced_policy_table(rows, risk, knots)
        metrics["supervised"] = fitted.supervised_note
        manifest.update(
            thresholds=thresholds.as_dict(),
            threshold_rule=_threshold_rule(config),
            **_provenance(rows, seed, config, data_sha256, data_description),
            held_out_pattern=held_out_pattern if rows.split.held_out.size else None,
            metrics=metrics,
        )
        manifest["version"] = version = _version(manifest, created)
        manifest = _jsonable(manifest)
        _write_reports(staging, manifest, risk, anomaly_only, rows, held_out_pattern)
        _publish(staging, out_dir / version)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    if set_current:
        (out_dir / CURRENT).write_text(version + "\n")
    return manifest


def _split(
    raw: np.ndarray,
    y: np.ndarray | None,
    patterns: list[str] | None,
    feature_names: Sequence[str],
    held_out_pattern: str | None,
    config: TrainConfig,
    seed: int,
) -> _Rows:
    split = split_rows(
        len(raw),
        y,
        patterns,
        held_out_pattern,
        validation_fraction=config.validation_fraction,
        test_fraction=config.test_fraction,
        seed=seed,
    )
    if len(split.train) < 2:
        raise ValueError("need at least two training rows after holding out")
    log1p = [f.name for f in FEATURES if f.kind in LOG1P_KINDS and f.name in feature_names]
    x = log1p_columns(raw, [list(feature_names).index(name) for name in log1p])
    return _Rows(raw, x, y, patterns, split, feature_names, log1p)


def _model_manifest(
    staging: Path, rows: _Rows, fitted: _Fitted, config: TrainConfig, created: datetime
) -> dict[str, Any]:
    """The manifest the serving model loads, with placeholder thresholds: enough to score."""
    train_rows = rows.split.train
    return {
        "format": MANIFEST_FORMAT,
        "version": "pending",
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "feature_names": list(rows.feature_names),
        "thresholds": {"approve": 0.0, "review": 100.0, "reject": 100.0},
        "preprocess": {"log1p": rows.log1p},
        "calibration": fitted.calibration,
        "artifacts": _write_artifacts(staging, fitted, config),
        "explain": {
            "method": "isolation path-depth credit minus its training mean",
            "baseline": _floats(
                fitted.anomaly_scorer.attribution(
                    rows.x[train_rows[: config.explain_baseline_rows]]
                ).mean(axis=0)
            ),
            "median": _floats(np.median(rows.raw[train_rows], axis=0)),
        },
        # Reference distributions for drift monitoring, in shared.scoring.drift's format.
        "feature_histograms": {
            name: drift.reference(rows.raw[train_rows, i].tolist()).as_dict()
            for i, name in enumerate(rows.feature_names)
        },
    }


def _thresholds(risk: np.ndarray, rows: _Rows, config: TrainConfig) -> Thresholds:
    validation = rows.split.validation
    legit_validation = validation if rows.y is None else validation[rows.y[validation] == 0]
    return choose_thresholds(
        risk[validation],
        risk[legit_validation],
        target_review_rate=config.target_review_rate,
        reject_legit_fpr=config.reject_legit_fpr,
        review_legit_fpr=config.review_legit_fpr,
    )


def _keep_probability_knots(
    manifest: dict[str, Any], risk: np.ndarray, rows: _Rows
) -> dict[str, Any] | None:
    knots = _probability_knots(risk, rows)
    if knots is not None:
        manifest["fraud_probability"] = knots
    return knots


def _probability_knots(risk: np.ndarray, rows: _Rows) -> dict[str, Any] | None:
    """The served score against the share of fraud among validation rows scoring about
    the same (isotonic, so higher scores never mean less fraud), in percent."""
    validation = rows.split.validation
    if rows.y is None or len(np.unique(rows.y[validation])) < 2:
        return None
    from sklearn.isotonic import IsotonicRegression

    fit = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    fit.fit(risk[validation], rows.y[validation].astype(np.float64))
    return {
        "method": "isotonic regression of fraud on the served score, validation rows",
        "scores": _floats(fit.X_thresholds_),
        "probabilities": _floats(100.0 * fit.y_thresholds_),
    }


def priced_policy_table(
    rows: _Rows, risk: np.ndarray, knots: dict[str, Any] | None
) -> list[dict[str, Any]]:
    if rows.y is None or knots is None:
        return []
    curve = ProbabilityKnots.from_manifest({"fraud_probability": knots})
    assert curve is not None
    test = rows.split.test
    return priced_table(rows.y[test], risk[test], curve)


def _anomaly_only(fitted: _Fitted) -> np.ndarray | None:
    """The anomaly score alone as a probability, when it was Platt-calibrated on labels."""
    if fitted.calibration["method"] == "quantile":
        return None
    return _anomaly_probability(fitted.calibration, fitted.anomaly)


def _threshold_rule(config: TrainConfig) -> dict[str, Any]:
    return {
        "reject": "lowest validation score with legit FPR <= reject_legit_fpr",
        "review": "lowest score <= reject with share of traffic in [review, reject) "
        "<= target_review_rate and legit FPR <= review_legit_fpr",
        "reject_legit_fpr": config.reject_legit_fpr,
        "review_legit_fpr": config.review_legit_fpr,
        "target_review_rate": config.target_review_rate,
    }


def _provenance(
    rows: _Rows,
    seed: int,
    config: TrainConfig,
    data_sha256: str | None,
    data_description: str | None,
) -> dict[str, Any]:
    """What the version was built with and from, in the manifest's key order."""
    return {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "training_data_sha256": data_sha256 or _data_sha256(rows.raw, rows.y, rows.patterns),
        "training_data": data_description,
        "seed": seed,
        "config": asdict(config),
    }


def _write_reports(
    staging: Path,
    manifest: dict[str, Any],
    risk: np.ndarray,
    anomaly_only: np.ndarray | None,
    rows: _Rows,
    held_out_pattern: str | None,
) -> None:
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    (staging / "model_card.md").write_text(model_card(manifest))
    plot_pr(
        staging / "pr_curve.png",
        risk,
        anomaly_only,
        rows.y,
        rows.patterns,
        rows.split,
        held_out_pattern,
    )


def _publish(staging: Path, final: Path) -> None:
    """Swap the staged version into place, replacing an earlier build of the same version."""
    if final.exists():
        shutil.rmtree(final)
    staging.chmod(0o755)  # mkdtemp creates it owner-only; a model is read by others
    os.replace(staging, final)


def _fit(
    x: np.ndarray, y: np.ndarray | None, split: Split, config: TrainConfig, seed: int
) -> _Fitted:
    forest = IsolationForest(
        n_estimators=config.n_estimators,
        max_samples=min(config.max_samples, len(split.train)),
        random_state=seed,
    ).fit(x[split.train])
    arrays = export_isolation_forest(forest)
    scorer = IsolationForestScorer(arrays)
    anomaly = scorer.anomaly(x)
    if y is not None and enough_labels(y, split, config.min_fraud_for_labels):
        calibration, supervised, note = _fit_labelled(x, y, anomaly, split, config, seed)
    else:
        reason = "no labels" if y is None else "too few labelled fraud rows"
        calibration = _quantile_calibration(anomaly[split.train])
        supervised, note = None, {"kept": False, "reason": reason}
    return _Fitted(arrays, scorer, anomaly, calibration, supervised, note)


def _write_artifacts(staging: Path, fitted: _Fitted, config: TrainConfig) -> dict[str, Any]:
    artifacts: dict[str, Any] = {
        "anomaly": {
            "file": ANOMALY_FILE,
            "sha256": write_npz(staging / ANOMALY_FILE, fitted.anomaly_arrays),
            "kind": "isolation_forest",
            "n_estimators": config.n_estimators,
            "max_samples": int(fitted.anomaly_arrays["max_samples"]),
        },
        "supervised": None,
    }
    if fitted.supervised_arrays is not None:
        artifacts["supervised"] = {
            "file": SUPERVISED_FILE,
            "sha256": write_npz(staging / SUPERVISED_FILE, fitted.supervised_arrays),
            "kind": "gradient_boosting",
            "n_estimators": config.gb_n_estimators,
            "max_depth": config.gb_max_depth,
        }
    return artifacts


# -- inputs ---------------------------------------------------------------------------------


def _check_features(features: np.ndarray, names: Sequence[str]) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f"features must be (n_rows, {len(names)}), got {x.shape}")
    if len(set(names)) != len(names):
        raise ValueError("feature names must be unique")
    if not np.isfinite(x).all():
        raise ValueError("features must be finite")
    return x


def _check_labels(labels: np.ndarray | Sequence[Any] | None, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    raw = np.asarray(labels)
    if raw.shape != (n,):
        raise ValueError(f"labels must have one entry per row ({n}), got {raw.shape}")
    if raw.dtype.kind in "US":
        text = np.char.lower(raw.astype(str))
        if not np.isin(text, ["fraud", "legit"]).all():
            raise ValueError("text labels must be 'fraud' or 'legit'")
        return (text == "fraud").astype(np.int64)
    y = raw.astype(np.int64)
    if not np.isin(y, [0, 1]).all():
        raise ValueError("labels must be 0 (legit) or 1 (fraud)")
    return y


def _check_patterns(patterns: Sequence[str] | None, n: int) -> list[str] | None:
    if patterns is None:
        return None
    out = [str(p) for p in patterns]
    if len(out) != n:
        raise ValueError(f"patterns must have one entry per row ({n}), got {len(out)}")
    return out


def _created_at(created_at: datetime | None) -> datetime:
    if created_at is not None:
        return created_at.astimezone(UTC).replace(microsecond=0)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)


def _data_sha256(x: np.ndarray, y: np.ndarray | None, patterns: list[str] | None) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(x, dtype="<f8").tobytes())
    if y is not None:
        digest.update(np.ascontiguousarray(y, dtype="<i8").tobytes())
    if patterns is not None:
        digest.update("\n".join(patterns).encode())
    return digest.hexdigest()


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- calibration and supervised model -------------------------------------------------------


def _quantile_calibration(anomaly: np.ndarray) -> dict[str, Any]:
    """Empirical CDF of training anomaly scores at ``QUANTILE_LEVELS`` strictly rising knots."""
    ordered = np.sort(anomaly)
    knots, first = np.unique(ordered, return_index=True)
    # Level of a knot: share of training rows strictly below it; the last knot is 1.
    levels = first / len(ordered)
    if len(knots) > QUANTILE_LEVELS:
        pick = np.unique(np.linspace(0, len(knots) - 1, QUANTILE_LEVELS).round().astype(int))
        knots, levels = knots[pick], levels[pick]
    if len(knots) == 1:
        knots = np.array([knots[0], np.nextafter(knots[0], np.inf)])
        levels = np.array([0.0, 1.0])
    levels[-1] = 1.0
    return {"method": "quantile", "anomaly_knots": _floats(knots), "levels": _floats(levels)}


def _anomaly_probability(calibration: dict[str, Any], anomaly: np.ndarray) -> np.ndarray:
    z = calibration["slope"] * anomaly + calibration["intercept"]
    return 1.0 / (1.0 + np.exp(-z))


def _fit_labelled(
    x: np.ndarray,
    y: np.ndarray,
    anomaly: np.ndarray,
    split: Split,
    config: TrainConfig,
    seed: int,
) -> tuple[dict[str, Any], dict[str, np.ndarray] | None, dict[str, Any]]:
    val = split.validation
    platt = LogisticRegression(C=1e4, max_iter=1000).fit(anomaly[val].reshape(-1, 1), y[val])
    calibration = {
        "method": "platt",
        "slope": float(platt.coef_[0, 0]),
        "intercept": float(platt.intercept_[0]),
    }
    p_anomaly = _anomaly_probability(calibration, anomaly)
    ap_anomaly = float(average_precision_score(y[val], p_anomaly[val]))

    booster = GradientBoostingClassifier(
        n_estimators=config.gb_n_estimators,
        max_depth=config.gb_max_depth,
        learning_rate=config.gb_learning_rate,
        subsample=config.gb_subsample,
        random_state=seed,
    ).fit(x[split.train], y[split.train])
    arrays = export_gradient_boosting(booster, x[0])
    p_supervised = GradientBoostingScorer(arrays).predict_proba(x)
    combined = 1.0 - (1.0 - p_anomaly) * (1.0 - p_supervised)
    ap_combined = float(average_precision_score(y[val], combined[val]))
    gain = ap_combined - ap_anomaly
    kept = gain >= config.min_supervised_gain
    note = {
        "kept": kept,
        "reason": (
            f"validation PR-AUC {ap_anomaly:.3f} -> {ap_combined:.3f}"
            f" ({'>=' if kept else '<'} required gain {config.min_supervised_gain})"
        ),
        "validation_pr_auc_anomaly": ap_anomaly,
        "validation_pr_auc_combined": ap_combined,
    }
    return calibration, (arrays if kept else None), note


# -- outputs --------------------------------------------------------------------------------


def _version(manifest: dict[str, Any], created: datetime) -> str:
    content = {
        key: manifest[key]
        for key in (
            "feature_names",
            "thresholds",
            "calibration",
            "training_data_sha256",
            "seed",
            "config",
            "sklearn_version",
        )
    }
    content["artifacts"] = {
        name: entry["sha256"] if entry else None for name, entry in manifest["artifacts"].items()
    }
    digest = hashlib.sha256(json.dumps(_jsonable(content), sort_keys=True).encode()).hexdigest()
    prefix = "ifgb" if manifest["artifacts"]["supervised"] else "if"
    return f"{prefix}-{created:%Y%m%d}-{digest[:8]}"


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
