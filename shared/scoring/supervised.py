"""Gradient-boosted trees scoring with numpy alone, equal to scikit-learn's classifier.

Reads the arrays ``shared.training.export.export_gradient_boosting`` writes for a
binary ``GradientBoostingClassifier``: ``decision_function`` is the initial log-odds
plus ``learning_rate`` times each tree's leaf value, ``predict_proba`` its logistic.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shared.scoring.forest import FlatTrees, HeapForest

ARTIFACT_KIND = "gradient_boosting"
ARTIFACT_FORMAT = 1

FloatArray = npt.NDArray[np.float64]


def expit(x: FloatArray) -> FloatArray:
    """Logistic function without overflow warnings for large negative inputs."""
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


class GradientBoostingScorer:
    """A fitted binary GradientBoostingClassifier, read from its exported arrays."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[np.generic]]) -> None:
        kind = str(arrays["kind"])
        fmt = int(arrays["format"])
        if kind != ARTIFACT_KIND or fmt != ARTIFACT_FORMAT:
            raise ValueError(f"not a gradient boosting artifact (kind={kind}, format={fmt})")
        self.n_features = int(arrays["n_features"])
        self.init_raw = float(arrays["init_raw"])
        learning_rate = float(arrays["learning_rate"])
        trees = FlatTrees.from_arrays(arrays)
        leaf_value = np.asarray(arrays["leaf_value"], dtype=np.float64)
        if leaf_value.shape != trees.threshold.shape:
            raise ValueError("leaf_value disagrees with the tree arrays")
        self.forest = HeapForest(trees, self.n_features)
        self.n_trees = self.forest.n_trees
        self._slot_value = learning_rate * leaf_value[self.forest.leaf_node]

    @classmethod
    def load(cls, path: Path | str) -> GradientBoostingScorer:
        with np.load(path, allow_pickle=False) as data:
            return cls({key: data[key] for key in data.files})

    def decision_function(self, matrix: npt.ArrayLike) -> FloatArray:
        """Raw log-odds of fraud, equal to ``GradientBoostingClassifier.decision_function``."""
        # Each tree is added onto the initial prediction in turn, the order
        # scikit-learn's predict_stages uses.
        return self.forest.sum_leaf_values(matrix, self._slot_value, self.init_raw)

    def predict_proba(self, matrix: npt.ArrayLike) -> FloatArray:
        """Probability of fraud (class 1), shape (n_rows,)."""
        return expit(self.decision_function(matrix))
