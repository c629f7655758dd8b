"""IsolationForest scoring with numpy alone, equal to scikit-learn's ``score_samples``.

The artifact is an ``.npz`` of scikit-learn's flattened tree arrays (see
``shared.training.export``) and is always read with ``allow_pickle=False``.
Per tree, a row's path length is the depth of the leaf it lands in plus the
expected path length of an unbuilt subtree over the training samples that
share that leaf (``average_path_length`` of the leaf's ``n_node_samples``), minus
one because scikit-learn counts the root as depth 1. The score is
``-2 ** (-mean_path / c(max_samples))``: lower is more abnormal, as in scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shared.scoring.forest import FlatTrees, HeapForest

ARTIFACT_KIND = "isolation_forest"
ARTIFACT_FORMAT = 1

FloatArray = npt.NDArray[np.float64]


def average_path_length(n_samples_leaf: npt.ArrayLike) -> FloatArray:
    """scikit-learn's ``_average_path_length``: c(n) of an n-sample isolation tree.

    0 for n <= 1, 1 for n == 2, else 2 (ln(n - 1) + Euler's gamma) - 2 (n - 1) / n.
    """
    n = np.asarray(n_samples_leaf, dtype=np.float64)
    shape = n.shape
    n = n.reshape((1, -1))
    out = np.zeros(n.shape)
    mask_1 = n <= 1
    mask_2 = n == 2
    rest = ~np.logical_or(mask_1, mask_2)
    out[mask_1] = 0.0
    out[mask_2] = 1.0
    out[rest] = 2.0 * (np.log(n[rest] - 1.0) + np.euler_gamma) - 2.0 * (n[rest] - 1.0) / n[rest]
    return out.reshape(shape)


class IsolationForestScorer:
    """A fitted IsolationForest, read from its exported arrays."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[np.generic]]) -> None:
        kind = str(arrays["kind"])
        fmt = int(arrays["format"])
        if kind != ARTIFACT_KIND or fmt != ARTIFACT_FORMAT:
            raise ValueError(f"not an isolation forest artifact (kind={kind}, format={fmt})")
        self.n_features = int(arrays["n_features"])
        self.max_samples = int(arrays["max_samples"])
        trees = FlatTrees.from_arrays(arrays)
        n_node_samples = np.asarray(arrays["n_node_samples"], dtype=np.int64)
        if n_node_samples.shape != trees.threshold.shape:
            raise ValueError("n_node_samples disagrees with the tree arrays")
        self.forest = HeapForest(trees, self.n_features)
        self.n_trees = self.forest.n_trees
        node_path = self.forest.node_depth + average_path_length(n_node_samples) - 1.0
        # Path length of every bottom slot, laid out (tree, slot) for one gather per row.
        self._slot_path = node_path[self.forest.leaf_node]
        self._denominator = self.n_trees * average_path_length([self.max_samples])[0]

    @classmethod
    def load(cls, path: Path | str) -> IsolationForestScorer:
        with np.load(path, allow_pickle=False) as data:
            return cls({key: data[key] for key in data.files})

    def path_lengths(self, matrix: npt.ArrayLike) -> FloatArray:
        """Per-tree path length, shape (n_trees, n_rows): trees first, as they are summed."""
        return np.take(self._slot_path, self.forest.leaves(matrix).T)

    def score_samples(self, matrix: npt.ArrayLike) -> FloatArray:
        """Equal to ``IsolationForest.score_samples``: lower is more abnormal."""
        depths = self.forest.sum_leaf_values(matrix, self._slot_path)
        if self._denominator == 0:
            return -np.full(depths.shape, 0.5)
        return -(2.0 ** (-(depths / self._denominator)))

    def anomaly(self, matrix: npt.ArrayLike) -> FloatArray:
        """The paper's anomaly score in (0, 1]: higher is more abnormal."""
        return -self.score_samples(matrix)

    def attribution(self, matrix: npt.ArrayLike) -> FloatArray:
        """Per-feature isolation credit, shape (n_rows, n_features).

        Each tree gives every split on a row's path the weight 1 / (that tree's path
        length): a feature that keeps cutting the row off early, in trees where it is
        isolated quickly, collects most of the credit (depth-based attribution, as in
        DIFFI). Averaged over trees, so rows are comparable across forests.
        """
        paths = self.path_lengths(matrix).T
        features = self.forest.path_features_many(matrix)  # (n, depth, trees)
        n_rows = paths.shape[0]
        weight = np.broadcast_to((1.0 / np.maximum(paths, 1.0))[:, None, :], features.shape)
        used = features >= 0
        rows = np.broadcast_to(np.arange(n_rows)[:, None, None], features.shape)
        flat_index = rows[used] * self.n_features + features[used]
        credit = np.bincount(flat_index, weights=weight[used], minlength=n_rows * self.n_features)
        return credit.reshape(n_rows, self.n_features) / self.n_trees
