"""The batch walk (packed integer levels) lands every row in the leaf a node-by-node walk finds.

The reference here follows the exported arrays one node at a time, comparing the
float32 value with the float64 threshold as scikit-learn does, so it shares nothing
with the heap layout or the packed keys it checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.scoring.forest import MAX_DEPTH, FlatTrees, HeapForest, KeyedLevels, float32_keys
from shared.scoring.isolation_forest import IsolationForestScorer, average_path_length
from shared.scoring.model import load_model
from shared.scoring.supervised import GradientBoostingScorer
from tests.unit.test_isolation_forest_equivalence import structured_rows

MODELS = Path(__file__).resolve().parents[2] / "models"
TOLERANCE = 1e-9


def reference_leaves(trees: FlatTrees, matrix: np.ndarray) -> np.ndarray:
    """Global node id of each row's leaf in each tree, shape (n_rows, n_trees)."""
    x32 = np.asarray(matrix, dtype=np.float32)
    rows = np.arange(len(x32))
    out = np.empty((len(x32), trees.n_trees), dtype=np.int64)
    for k in range(trees.n_trees):
        start = trees.node_offsets[k]
        node = np.zeros(len(x32), dtype=np.int64)
        for _ in range(MAX_DEPTH + 1):
            here = node + start
            inner = trees.children_left[here] >= 0
            value = x32[rows, np.maximum(trees.feature[here], 0)]
            left = value.astype(np.float64) <= trees.threshold[here]
            child = np.where(left, trees.children_left[here], trees.children_right[here])
            node = np.where(inner, child, node)
        out[:, k] = node + start
    return out


def random_trees(n_trees: int, depth: int, n_features: int, seed: int) -> FlatTrees:
    """Unbalanced trees of at most ``depth`` levels: each node splits with probability 0.7."""
    rng = np.random.default_rng(seed)
    offsets, left, right, feature, threshold = [0], [], [], [], []
    for _ in range(n_trees):
        nodes: list[list[float]] = [[0.0]]  # per node: [depth]
        tree_left, tree_right, tree_feature, tree_threshold = [], [], [], []
        i = 0
        while i < len(nodes):
            level = int(nodes[i][0])
            if level < depth and (i == 0 or rng.random() < 0.7):
                tree_left.append(len(nodes))
                tree_right.append(len(nodes) + 1)
                nodes += [[level + 1], [level + 1]]
                tree_feature.append(int(rng.integers(n_features)))
                tree_threshold.append(float(rng.normal()))
            else:
                tree_left.append(-1)
                tree_right.append(-1)
                tree_feature.append(-2)
                tree_threshold.append(-2.0)
            i += 1
        offsets.append(offsets[-1] + len(nodes))
        left += tree_left
        right += tree_right
        feature += tree_feature
        threshold += tree_threshold
    n = offsets[-1]
    return FlatTrees.from_arrays(
        {
            "node_offsets": offsets,
            "children_left": left,
            "children_right": right,
            "feature": feature,
            "threshold": threshold,
            "missing_go_to_left": np.ones(n, dtype=bool),
        }
    )


def single_leaf_trees(n_trees: int) -> FlatTrees:
    return FlatTrees.from_arrays(
        {
            "node_offsets": np.arange(n_trees + 1),
            "children_left": -np.ones(n_trees),
            "children_right": -np.ones(n_trees),
            "feature": -2 * np.ones(n_trees),
            "threshold": -2.0 * np.ones(n_trees),
            "missing_go_to_left": np.ones(n_trees, dtype=bool),
        }
    )


def concatenated(*forests: FlatTrees) -> FlatTrees:
    offsets = [0]
    for trees in forests:
        offsets += list(offsets[-1] + trees.node_offsets[1:])
    fields = ("children_left", "children_right", "feature", "threshold", "missing_go_to_left")
    arrays = {name: np.concatenate([getattr(t, name) for t in forests]) for name in fields}
    return FlatTrees.from_arrays({"node_offsets": offsets, **arrays})


def leaves_as_nodes(forest: HeapForest, matrix: np.ndarray) -> np.ndarray:
    return forest.leaf_node[forest.leaves(matrix)]


@pytest.mark.parametrize("depth", [1, 2, 3, 5, 7])
def test_trees_of_odd_and_uneven_depths_reach_the_reference_leaf(depth: int) -> None:
    # Given unbalanced trees whose leaves sit at many depths
    trees = random_trees(n_trees=30, depth=depth, n_features=6, seed=depth)
    forest = HeapForest(trees, n_features=6)
    rows = np.random.default_rng(depth).normal(size=(600, 6))
    # When the batch walk places every row
    # Then each lands in the leaf the node-by-node walk finds
    assert np.array_equal(leaves_as_nodes(forest, rows), reference_leaves(trees, rows))


def test_single_leaf_trees_among_deep_ones_keep_every_row_at_their_root() -> None:
    trees = concatenated(single_leaf_trees(3), random_trees(5, 6, 4, seed=1), single_leaf_trees(2))
    forest = HeapForest(trees, n_features=4)
    rows = np.random.default_rng(2).normal(size=(300, 4))
    assert np.array_equal(leaves_as_nodes(forest, rows), reference_leaves(trees, rows))


def test_a_forest_of_single_leaf_trees_sums_their_values() -> None:
    forest = HeapForest(single_leaf_trees(4), n_features=3)
    values = np.array([1.0, 2.0, 4.0, 8.0])
    rows = np.zeros((5, 3))
    assert np.array_equal(forest.sum_leaf_values(rows, values, initial=0.5), np.full(5, 15.5))


@pytest.mark.parametrize("n_rows", [0, 1, 2, 127, 128, 129, 257, 10_000])
def test_every_batch_size_reaches_the_reference_leaf(n_rows: int) -> None:
    # Given batches below, at and across the walk's chunk boundary
    trees = random_trees(n_trees=20, depth=8, n_features=5, seed=3)
    forest = HeapForest(trees, n_features=5)
    rows = np.random.default_rng(n_rows).normal(size=(n_rows, 5))
    leaves = leaves_as_nodes(forest, rows)
    assert leaves.shape == (n_rows, 20)
    assert np.array_equal(leaves, reference_leaves(trees, rows))


def test_leaf_sums_add_trees_in_order_onto_the_initial_value() -> None:
    trees = random_trees(n_trees=12, depth=4, n_features=3, seed=4)
    forest = HeapForest(trees, n_features=3)
    rows = np.random.default_rng(5).normal(size=(1_000, 3))
    node_value = np.random.default_rng(6).normal(size=len(trees.threshold))
    expected = np.full(len(rows), 0.25)
    for nodes in reference_leaves(trees, rows).T:
        expected = expected + node_value[nodes]
    got = forest.sum_leaf_values(rows, node_value[forest.leaf_node], initial=0.25)
    assert np.array_equal(got, expected)


def test_values_on_thresholds_zeros_and_infinities_go_the_reference_way() -> None:
    # Given rows exactly on, and one float32 step either side of, every threshold,
    # plus signed zeros and infinities
    trees = random_trees(n_trees=10, depth=5, n_features=3, seed=7)
    roots = trees.node_offsets[:-1]
    trees.threshold[roots[::2]] = 0.0
    trees.threshold[roots[1::2]] = -0.0
    forest = HeapForest(trees, n_features=3)
    inner = np.flatnonzero(trees.children_left >= 0)
    rows = np.zeros((3 * len(inner) + 4, 3))
    for k, node in enumerate(inner):
        t = np.float32(trees.threshold[node])
        for j, value in enumerate((np.nextafter(t, -np.inf), t, np.nextafter(t, np.inf))):
            rows[3 * k + j, trees.feature[node]] = value
    rows[-4:] = [[-0.0] * 3, [0.0] * 3, [np.inf] * 3, [-np.inf] * 3]
    assert np.array_equal(leaves_as_nodes(forest, rows), reference_leaves(trees, rows))


def test_keys_order_floats_as_the_floats_order() -> None:
    values = np.array([-np.inf, -3.5, -1e-40, -0.0, 0.0, 1e-45, 2.0, np.inf], dtype=np.float32)
    keys = float32_keys(values)
    assert np.array_equal(keys[:-1] <= keys[1:], np.ones(len(values) - 1, dtype=bool))
    assert keys[3] == keys[4]  # -0.0 == 0.0
    assert np.array_equal(np.diff(keys) > 0, np.diff(values) > 0)


def test_forests_too_large_for_packed_slots_fall_back_to_the_float_walk() -> None:
    split_feature = [np.zeros(1 << level, dtype=np.int64) for level in range(MAX_DEPTH)]
    split_threshold = [np.zeros(1 << level, dtype=np.float32) for level in range(MAX_DEPTH)]
    assert KeyedLevels.build(2**20, 25, split_feature, split_threshold) is None


def test_a_batch_with_a_missing_value_still_places_its_complete_rows() -> None:
    # Given a batch in which one row lacks a value (it takes the float walk)
    trees = random_trees(n_trees=8, depth=4, n_features=3, seed=8)
    forest = HeapForest(trees, n_features=3)
    rows = np.random.default_rng(9).normal(size=(50, 3))
    rows[0, 0] = np.nan
    leaves = leaves_as_nodes(forest, rows)
    assert np.array_equal(leaves[1:], reference_leaves(trees, rows[1:]))


@pytest.fixture(scope="module")
def default_model_rows() -> np.ndarray:
    model = load_model(MODELS)
    rows = structured_rows(3_000, seed=11)
    return model.prepare(rows)


def test_committed_isolation_forest_scores_equal_its_exported_arrays(
    default_model_rows: np.ndarray,
) -> None:
    # Given the committed default model's isolation forest
    model = load_model(MODELS)
    path = model.directory / model.manifest["artifacts"]["anomaly"]["file"]
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    trees = FlatTrees.from_arrays(arrays)
    # When the reference walk scores rows from its exported arrays
    leaves = reference_leaves(trees, default_model_rows)
    offsets = np.repeat(trees.node_offsets[:-1], np.diff(trees.node_offsets))
    node_depth = np.zeros(len(trees.threshold))
    for k in range(trees.n_trees):
        lo, hi = trees.node_offsets[k], trees.node_offsets[k + 1]
        for node in range(lo, hi):
            for child in (trees.children_left[node], trees.children_right[node]):
                if child >= 0:
                    node_depth[child + offsets[node]] = node_depth[node] + 1
    path = node_depth + average_path_length(arrays["n_node_samples"])
    depths = np.zeros(len(default_model_rows))
    for nodes in leaves.T:
        depths = depths + path[nodes]
    expected = -(2.0 ** (-depths / (trees.n_trees * average_path_length([arrays["max_samples"]]))))
    # Then the serving scorer agrees
    scorer = IsolationForestScorer(arrays)
    assert np.abs(scorer.score_samples(default_model_rows) - expected).max() <= TOLERANCE
    assert np.abs(scorer.score_samples(default_model_rows[:1]) - expected[:1]).max() <= TOLERANCE


def test_committed_gradient_boosting_equals_its_exported_arrays(
    default_model_rows: np.ndarray,
) -> None:
    model = load_model(MODELS)
    path = model.directory / model.manifest["artifacts"]["supervised"]["file"]
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    trees = FlatTrees.from_arrays(arrays)
    step = float(arrays["learning_rate"]) * arrays["leaf_value"]
    expected = np.full(len(default_model_rows), float(arrays["init_raw"]))
    for nodes in reference_leaves(trees, default_model_rows).T:
        expected = expected + step[nodes]
    scorer = GradientBoostingScorer(arrays)
    assert np.abs(scorer.decision_function(default_model_rows) - expected).max() <= TOLERANCE
