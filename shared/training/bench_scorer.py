"""Scoring speed: scikit-learn's IsolationForest against the numpy scorer, side by side.

``run()`` fits a forest on feature-shaped synthetic rows, exports it, and times
``score_samples`` for one row (the Lambda case) and for 10,000 rows (backtests and
re-scoring), taking the best of several alternating repeats of each. Both run on
one thread (scikit-learn's default for ``score_samples``). Ratios above 1 mean the
numpy scorer is faster. It also reports the largest score difference seen.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from shared.scoring.feature_spec import FEATURES
from shared.scoring.isolation_forest import IsolationForestScorer
from shared.training.export import export_isolation_forest, write_npz


def _rows(n: int, seed: int) -> np.ndarray:
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


def _best_of_interleaved(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Best time of each, alternating runs so background load hits both alike."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for i, fn in enumerate((first, second)):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best[0], best[1]


def run(n_estimators: int = 200, batch: int = 10_000, repeats: int = 9) -> dict[str, Any]:
    """Timings in milliseconds and sklearn/numpy ratios for 1 row and ``batch`` rows."""
    train = _rows(20_000, seed=0)
    rows = _rows(batch, seed=1)
    forest = IsolationForest(n_estimators=n_estimators, random_state=0).fit(train)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "isolation_forest.npz"
        write_npz(path, export_isolation_forest(forest))
        load_start = time.perf_counter()
        scorer = IsolationForestScorer.load(path)
        load_ms = 1000 * (time.perf_counter() - load_start)

    one = rows[:1]
    results: dict[str, Any] = {
        "n_estimators": n_estimators,
        "n_features": len(FEATURES),
        "numpy_load_ms": round(load_ms, 3),
        "max_abs_diff": float(
            np.abs(scorer.score_samples(rows) - forest.score_samples(rows)).max()
        ),
    }
    for label, data, reps in (("1_row", one, repeats * 5), (f"{batch}_rows", rows, repeats)):
        forest.score_samples(data)  # warm caches on both sides
        scorer.score_samples(data)
        sk, ours = _best_of_interleaved(
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
