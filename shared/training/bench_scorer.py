"""Scoring speed as ``shared.bench`` prints it: a dict over ``shared.benchmarks.scorer``.

``run()`` fits a forest on feature-shaped synthetic rows, exports it, and times
``score_samples`` for one row (the Lambda case) and for 10,000 rows (backtests and
re-scoring), the medians of alternating repeats on one thread. Ratios above 1 mean
the numpy scorer is faster. ``shared.benchmarks.scorer.measure`` reports the same
runs, and the gradient-boosting scorer's, as figures with goals.
"""

from __future__ import annotations

import json
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from shared.benchmarks.scorer import feature_rows, median_times
from shared.scoring.feature_spec import FEATURES
from shared.scoring.isolation_forest import IsolationForestScorer
from shared.training.export import export_isolation_forest, write_npz


def run(n_estimators: int = 200, batch: int = 10_000, repeats: int = 9) -> dict[str, Any]:
    """Timings in milliseconds and sklearn/numpy ratios for 1 row and ``batch`` rows."""
    train = feature_rows(20_000, seed=0)
    rows = feature_rows(batch, seed=1)
    forest = IsolationForest(n_estimators=n_estimators, random_state=0).fit(train)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "isolation_forest.npz"
        write_npz(path, export_isolation_forest(forest))
        load_start = time.perf_counter()
        scorer = IsolationForestScorer.load(path)
        load_ms = 1000 * (time.perf_counter() - load_start)

    results: dict[str, Any] = {
        "n_estimators": n_estimators,
        "n_features": len(FEATURES),
        "numpy_load_ms": round(load_ms, 3),
        "max_abs_diff": float(
            np.abs(scorer.score_samples(rows) - forest.score_samples(rows)).max()
        ),
    }
    for label, data, reps in (("1_row", rows[:1], repeats * 5), (f"{batch}_rows", rows, repeats)):
        sk, ours = median_times(
            partial(forest.score_samples, data), partial(scorer.score_samples, data), reps
        )
        results[label] = {
            "sklearn_ms": round(1000 * sk, 3),
            "numpy_ms": round(1000 * ours, 3),
            "speedup": round(sk / ours, 2),
        }
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
