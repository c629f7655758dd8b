"""Scoring speed and equality: scikit-learn against the numpy scorers, side by side.

``measure()`` fits an isolation forest (200 trees, as the default model has) and a
gradient-boosted classifier (150 trees of depth 3) on feature-shaped synthetic rows,
exports both as the serving artifacts, and scores the same rows with scikit-learn and
with the numpy scorers: one referral (the Lambda case) and 10,000 (backtests and
re-scoring). Runs alternate between the two sides so background load hits both
alike, and each figure is the ratio of the two medians. Both sides run on one thread
(scikit-learn's default). Ratios above 1 mean the numpy scorer is faster.

Each run is timed in CPU time of this process, not wall time: on a shared 2-core
machine with a load of 7, wall time also counts the time a run waits for a core,
which moved the 10,000-row ratio between 1.9 and 3.1 from one run to the next.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, IsolationForest

from shared.scoring.feature_spec import FEATURES
from shared.scoring.isolation_forest import IsolationForestScorer
from shared.scoring.supervised import GradientBoostingScorer
from shared.training.export import export_gradient_boosting, export_isolation_forest, write_npz

BATCH = 10_000
TOLERANCE = 1e-9
Figure = dict[str, Any]


def feature_rows(n: int, seed: int) -> np.ndarray:
    """Rows shaped like the features after preprocessing: flags, log counts, durations, shares."""
    rng = np.random.default_rng(seed)
    columns = []
    for spec in FEATURES:
        if spec.kind == "flag":
            columns.append((rng.random(n) < 0.1).astype(float))
        elif spec.kind == "count":
            columns.append(np.log1p(rng.poisson(2.0, n)))
        elif spec.kind in ("seconds", "days"):
            columns.append(rng.normal(8.0, 2.0, n))
        else:
            columns.append(rng.random(n))
    return np.column_stack(columns)


def fraud_labels(rows: np.ndarray, seed: int) -> np.ndarray:
    """A learnable label: a noisy linear rule over the features, about 10% positive."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=rows.shape[1])
    signal = rows @ weights + rng.normal(scale=0.5, size=len(rows))
    return (signal > np.quantile(signal, 0.9)).astype(int)


def median_times(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median CPU seconds of each, runs alternating; one untimed warm-up run of each first."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, seen in ((first, times[0]), (second, times[1])):
            start = time.process_time()
            fn()
            seen.append(time.process_time() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def figure(name: str, value: float, unit: str, goal: str) -> Figure:
    """One measured figure; ``goal`` is ``">= N"`` or ``"<= N"``."""
    op, _, bound = goal.partition(" ")
    met = value >= float(bound) if op == ">=" else value <= float(bound)
    return {"name": name, "value": value, "unit": unit, "goal": goal, "met": bool(met)}


def fitted_models(n_estimators: int = 200) -> tuple[IsolationForest, GradientBoostingClassifier]:
    train = feature_rows(20_000, seed=0)
    forest = IsolationForest(n_estimators=n_estimators, random_state=0).fit(train)
    labelled = train[:5_000]
    booster = GradientBoostingClassifier(n_estimators=150, max_depth=3, random_state=0)
    return forest, booster.fit(labelled, fraud_labels(labelled, seed=0))


def serving_scorers(
    forest: IsolationForest, booster: GradientBoostingClassifier, sample: np.ndarray
) -> tuple[IsolationForestScorer, GradientBoostingScorer]:
    """The numpy scorers, read back from the artifacts training writes."""
    with tempfile.TemporaryDirectory() as tmp:
        anomaly, supervised = Path(tmp) / "isolation_forest.npz", Path(tmp) / "gb.npz"
        write_npz(anomaly, export_isolation_forest(forest))
        write_npz(supervised, export_gradient_boosting(booster, sample))
        return IsolationForestScorer.load(anomaly), GradientBoostingScorer.load(supervised)


def speed_figures(
    label: str,
    sklearn_fn: Callable[[np.ndarray], object],
    numpy_fn: Callable[[np.ndarray], object],
    rows: np.ndarray,
    goals: tuple[str, str],
    repeats: int,
) -> list[Figure]:
    found = []
    for data, what, goal, reps in (
        (rows[:1], "1 referral", goals[0], repeats * 5),
        (rows, f"{len(rows):,} referrals", goals[1], repeats),
    ):
        sk, ours = median_times(partial(sklearn_fn, data), partial(numpy_fn, data), reps)
        name = f"{label}{what}: sklearn / numpy"
        found.append(figure(name, round(sk / ours, 2), "x", goal))
    return found


def measure(repeats: int = 9) -> list[Figure]:
    """Speed ratios and the largest differences, isolation forest then gradient boosting."""
    forest, booster = fitted_models()
    rows = feature_rows(BATCH, seed=1)
    anomaly, supervised = serving_scorers(forest, booster, rows[0])

    def sklearn_fraud_probability(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(booster.predict_proba(matrix)[:, 1])

    score_diff = np.abs(anomaly.score_samples(rows) - forest.score_samples(rows)).max()
    proba_diff = np.abs(supervised.predict_proba(rows) - sklearn_fraud_probability(rows)).max()
    return [
        *speed_figures(
            "score ", forest.score_samples, anomaly.score_samples, rows, (">= 50", ">= 2"), repeats
        ),
        figure("max |score difference|", float(score_diff), "", f"<= {TOLERANCE:g}"),
        *speed_figures(
            "gradient boosting, ",
            sklearn_fraud_probability,
            supervised.predict_proba,
            rows,
            (">= 2", ">= 1"),
            repeats,
        ),
        figure("gradient boosting max |probability difference|", float(proba_diff), "", "<= 1e-9"),
    ]


if __name__ == "__main__":
    for item in measure():
        mark = "ok " if item["met"] else "MISS"
        print(f"{mark} {item['name']:<52} {item['value']:>10.4g} {item['unit']:<2} {item['goal']}")
