"""Export fitted scikit-learn models as plain arrays that ``shared.scoring`` reads.

Arrays only, never pickle: the serving side opens them with ``allow_pickle=False``.
``write_npz`` writes the archive byte for byte the same for the same arrays (fixed
member order and timestamps), so a retrain on the same data gives an identical
artifact and an identical content hash.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shared.scoring import isolation_forest, supervised

Arrays = dict[str, np.ndarray]
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _flatten_trees(trees: Sequence[Any], feature_maps: Sequence[np.ndarray] | None) -> Arrays:
    offsets = np.zeros(len(trees) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([t.node_count for t in trees])
    features = []
    for k, tree in enumerate(trees):
        feature = tree.feature.astype(np.int64)
        if feature_maps is not None:
            # A tree fitted on a column subset names columns of that subset.
            internal = feature >= 0
            feature = feature.copy()
            feature[internal] = np.asarray(feature_maps[k], dtype=np.int64)[feature[internal]]
        features.append(feature)
    return {
        "node_offsets": offsets,
        "children_left": np.concatenate([t.children_left for t in trees]).astype(np.int64),
        "children_right": np.concatenate([t.children_right for t in trees]).astype(np.int64),
        "feature": np.concatenate(features),
        "threshold": np.concatenate([t.threshold for t in trees]).astype(np.float64),
        "missing_go_to_left": np.concatenate(
            [np.asarray(t.missing_go_to_left, dtype=bool) for t in trees]
        ),
        "n_node_samples": np.concatenate([t.n_node_samples for t in trees]).astype(np.int64),
    }


def export_isolation_forest(model: Any) -> Arrays:
    """Arrays for ``IsolationForestScorer`` from a fitted ``sklearn.ensemble.IsolationForest``."""
    trees = [est.tree_ for est in model.estimators_]
    n_features = int(model.n_features_in_)
    maps = [np.asarray(f) for f in model.estimators_features_]
    needs_map = any(len(m) != n_features or np.any(m != np.arange(n_features)) for m in maps)
    arrays = _flatten_trees(trees, maps if needs_map else None)
    arrays.update(
        kind=np.array(isolation_forest.ARTIFACT_KIND),
        format=np.array(isolation_forest.ARTIFACT_FORMAT),
        n_features=np.array(n_features, dtype=np.int64),
        max_samples=np.array(int(model._max_samples), dtype=np.int64),
    )
    return arrays


def export_gradient_boosting(model: Any, sample: np.ndarray) -> Arrays:
    """Arrays for ``GradientBoostingScorer`` from a fitted binary ``GradientBoostingClassifier``.

    ``sample`` is any one valid input row: the initial raw prediction is read back
    from the model rather than re-derived, so a changed ``init`` estimator cannot drift.
    """
    if len(model.classes_) != 2:
        raise ValueError("only binary classifiers are exported")
    trees = [est.tree_ for est in model.estimators_[:, 0]]
    arrays = _flatten_trees(trees, None)
    init = model._raw_predict_init(np.asarray(sample, dtype=np.float32).reshape(1, -1))
    arrays.update(
        kind=np.array(supervised.ARTIFACT_KIND),
        format=np.array(supervised.ARTIFACT_FORMAT),
        n_features=np.array(int(model.n_features_in_), dtype=np.int64),
        learning_rate=np.array(float(model.learning_rate), dtype=np.float64),
        init_raw=np.array(float(init[0, 0]), dtype=np.float64),
        leaf_value=np.concatenate([t.value[:, 0, 0] for t in trees]).astype(np.float64),
    )
    return arrays


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> str:
    """Write a reproducible ``.npz`` and return its SHA-256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            array = np.asarray(arrays[name])
            if array.dtype.hasobject:
                raise ValueError(f"{name}: object arrays would need pickle")
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array, order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    data = buffer.getvalue()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()
