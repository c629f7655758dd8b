"""The numpy IsolationForest scorer reproduces scikit-learn's score_samples exactly."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.ensemble._iforest import _average_path_length

from shared.scoring.feature_spec import FEATURE_NAMES, FEATURES
from shared.scoring.isolation_forest import IsolationForestScorer, average_path_length
from shared.training.export import export_isolation_forest, write_npz

TOLERANCE = 1e-9


def structured_rows(n: int, seed: int) -> np.ndarray:
    """Rows shaped like the real features: flags, heavy-tailed counts, durations, shares."""
    rng = np.random.default_rng(seed)
    columns = []
    for spec in FEATURES:
        if spec.kind == "flag":
            columns.append((rng.random(n) < rng.uniform(0.01, 0.3)).astype(float))
        elif spec.kind == "count":
            columns.append(rng.poisson(rng.gamma(0.5, 2.0, n)).astype(float))
        elif spec.kind == "seconds":
            columns.append(rng.lognormal(9.0, 2.0, n))
        elif spec.kind == "days":
            columns.append(rng.exponential(20.0, n))
        elif spec.kind == "share":
            columns.append(rng.beta(2.0, 5.0, n))
        else:
            columns.append(1.0 + rng.lognormal(0.0, 0.7, n))
    rows = np.column_stack(columns)
    # A few rows far outside the bulk, as fraud would be.
    rows[: n // 100, :4] = 1.0
    rows[: n // 100, 11:14] *= 20
    return rows


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return structured_rows(10_000, seed=1)


@pytest.fixture(scope="module")
def forest(rows: np.ndarray) -> IsolationForest:
    return IsolationForest(n_estimators=150, random_state=3).fit(rows)


@pytest.fixture(scope="module")
def artifact(forest: IsolationForest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("iforest") / "isolation_forest.npz"
    write_npz(path, export_isolation_forest(forest))
    return path


def test_rows_have_the_feature_width(rows: np.ndarray) -> None:
    assert rows.shape == (10_000, len(FEATURE_NAMES))


def test_scores_equal_sklearn_on_10000_unseen_rows(forest: IsolationForest, artifact: Path) -> None:
    scorer = IsolationForestScorer.load(artifact)
    fresh = structured_rows(10_000, seed=2)
    diff = np.abs(scorer.score_samples(fresh) - forest.score_samples(fresh))
    assert diff.max() <= TOLERANCE


def test_scores_equal_sklearn_on_training_rows(
    forest: IsolationForest, artifact: Path, rows: np.ndarray
) -> None:
    scorer = IsolationForestScorer.load(artifact)
    assert np.abs(scorer.score_samples(rows) - forest.score_samples(rows)).max() <= TOLERANCE


def test_single_row_matches(forest: IsolationForest, artifact: Path, rows: np.ndarray) -> None:
    scorer = IsolationForestScorer.load(artifact)
    for i in (0, 1, 500, 9_999):
        ours = scorer.score_samples(rows[i])
        assert ours.shape == (1,)
        assert abs(ours[0] - forest.score_samples(rows[i : i + 1])[0]) <= TOLERANCE


def test_values_on_split_thresholds_follow_sklearn(forest: IsolationForest, artifact: Path) -> None:
    # Rows placed exactly on (and one float32 step around) split thresholds exercise the
    # float64-threshold / float32-value comparison.
    scorer = IsolationForestScorer.load(artifact)
    tree = forest.estimators_[0].tree_
    internal = np.flatnonzero(tree.children_left >= 0)[:50]
    base = structured_rows(len(internal) * 3, seed=4)
    for k, node in enumerate(internal):
        t = np.float32(tree.threshold[node])
        for j, value in enumerate((np.nextafter(t, -np.inf), t, np.nextafter(t, np.inf))):
            base[3 * k + j, tree.feature[node]] = value
    assert np.abs(scorer.score_samples(base) - forest.score_samples(base)).max() <= TOLERANCE


def test_missing_values_follow_sklearn(forest: IsolationForest, artifact: Path) -> None:
    scorer = IsolationForestScorer.load(artifact)
    rows = structured_rows(2_000, seed=5)
    rows[np.random.default_rng(6).random(rows.shape) < 0.05] = np.nan
    assert np.abs(scorer.score_samples(rows) - forest.score_samples(rows)).max() <= TOLERANCE


@pytest.mark.parametrize(
    "params",
    [
        {"max_features": 0.5, "bootstrap": True},
        {"max_samples": 1_000},
        {"max_samples": 3},
    ],
)
def test_other_forest_shapes(params: dict[str, object], tmp_path: Path) -> None:
    rows = structured_rows(3_000, seed=7)
    forest = IsolationForest(n_estimators=40, random_state=0, **params).fit(rows)
    path = tmp_path / "f.npz"
    write_npz(path, export_isolation_forest(forest))
    scorer = IsolationForestScorer.load(path)
    fresh = structured_rows(3_000, seed=8)
    assert np.abs(scorer.score_samples(fresh) - forest.score_samples(fresh)).max() <= TOLERANCE


def test_artifact_loads_without_pickle(artifact: Path) -> None:
    with np.load(artifact, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    assert all(not a.dtype.hasobject for a in arrays.values())
    assert str(arrays["kind"]) == "isolation_forest"
    with zipfile.ZipFile(artifact) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())


def test_artifact_bytes_are_reproducible(forest: IsolationForest, tmp_path: Path) -> None:
    first = write_npz(tmp_path / "a.npz", export_isolation_forest(forest))
    second = write_npz(tmp_path / "b.npz", export_isolation_forest(forest))
    assert first == second
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_average_path_length_matches_sklearn() -> None:
    n = np.array([0, 1, 2, 3, 4, 5, 10, 255, 256, 257, 10_000])
    assert np.array_equal(average_path_length(n), _average_path_length(n))
    assert average_path_length(np.array([[1, 2], [3, 256]])).shape == (2, 2)


def test_wrong_width_is_refused(artifact: Path) -> None:
    scorer = IsolationForestScorer.load(artifact)
    with pytest.raises(ValueError, match="features"):
        scorer.score_samples(np.zeros((2, len(FEATURE_NAMES) + 1)))


def test_empty_batch(artifact: Path) -> None:
    scorer = IsolationForestScorer.load(artifact)
    assert scorer.score_samples(np.zeros((0, len(FEATURE_NAMES)))).shape == (0,)


def test_scoring_package_never_imports_sklearn_or_scipy() -> None:
    package = Path(__file__).resolve().parents[2] / "shared" / "scoring"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            roots = {name.split(".")[0] for name in names}
            assert not roots & {"sklearn", "scipy", "pickle", "joblib"}, (source, names)


def test_loading_a_model_imports_only_numpy() -> None:
    code = (
        "import sys, shared.scoring.model, shared.scoring.isolation_forest;"
        "bad = [m for m in ('sklearn', 'scipy', 'matplotlib') if m in sys.modules];"
        "print(','.join(bad))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == ""
