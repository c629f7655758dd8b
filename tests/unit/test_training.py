"""Training writes a complete, loadable, reproducible model version."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.scoring.feature_spec import FEATURE_INDEX, FEATURE_NAMES
from shared.scoring.model import CURRENT, ModelError, load_model, resolve_version_dir
from shared.training.evaluate import choose_thresholds
from shared.training.train import TrainConfig, train

WHEN = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
FAST = TrainConfig(n_estimators=40, gb_n_estimators=30)


def small_dataset(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """600 legit rows and four fraud patterns, each loud in a few features."""
    rng = np.random.default_rng(seed)
    n_legit = 600
    x = np.zeros((n_legit, len(FEATURE_NAMES)))
    col = FEATURE_INDEX
    x[:, col["same_ip"]] = rng.random(n_legit) < 0.08
    x[:, col["email_local_similarity"]] = rng.beta(2, 6, n_legit)
    x[:, col["advocate_referrals_7d"]] = rng.poisson(2, n_legit)
    x[:, col["ip_prefix_referrals_24h"]] = rng.poisson(1, n_legit)
    x[:, col["seconds_to_conversion"]] = rng.lognormal(10, 1.5, n_legit)
    x[:, col["order_value_ratio"]] = 1 + rng.lognormal(0, 0.6, n_legit)
    x[:, col["advocate_tenure_days"]] = rng.exponential(15, n_legit)
    patterns = ["legit_friend"] * n_legit
    frauds = {
        "self_referral_alias": {"same_device": 1, "same_ip": 1, "email_alias": 1},
        "disposable_burst": {"disposable_email": 1, "automation_user_agent": 1},
        "shared_payment": {"same_payment_fingerprint": 1, "payment_fingerprint_referrals_7d": 6},
        "device_farm": {"device_referrals_24h": 9, "advocate_referrals_1h": 5},
    }
    blocks = [x]
    for name, loud in frauds.items():
        block = x[rng.choice(n_legit, 25)].copy()
        for feature, value in loud.items():
            block[:, col[feature]] = value
        block[:, col["seconds_to_conversion"]] = rng.uniform(30, 600, 25)
        block[:, col["order_value_ratio"]] = rng.uniform(1.0, 1.1, 25)
        blocks.append(block)
        patterns += [name] * 25
    labels = np.array([0 if p.startswith("legit") else 1 for p in patterns])
    return np.vstack(blocks), labels, patterns


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    x, y, patterns = small_dataset()
    out = tmp_path_factory.mktemp("models")
    manifest = train(
        x, y, patterns, out, seed=7, config=FAST, created_at=WHEN, held_out_pattern="device_farm"
    )
    return out, manifest


def test_writes_version_directory(trained: tuple[Path, dict]) -> None:
    out, manifest = trained
    version_dir = out / manifest["version"]
    for name in ("manifest.json", "model_card.md", "pr_curve.png", "isolation_forest.npz"):
        assert (version_dir / name).is_file(), name
    assert (out / CURRENT).read_text().strip() == manifest["version"]
    on_disk = json.loads((version_dir / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["version"].startswith(("if-20250501-", "ifgb-20250501-"))
    assert manifest["feature_names"] == list(FEATURE_NAMES)
    assert manifest["held_out_pattern"] == "device_farm"
    assert len(manifest["training_data_sha256"]) == 64
    assert manifest["sklearn_version"]
    for entry in manifest["artifacts"].values():
        if entry:
            assert (version_dir / entry["file"]).is_file()
    png = (version_dir / "pr_curve.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_thresholds_are_monotone(trained: tuple[Path, dict]) -> None:
    _, manifest = trained
    t = manifest["thresholds"]
    assert 0.0 <= t["approve"] <= t["review"] <= t["reject"] <= 100.0


def test_metrics_cover_test_split_and_held_out_pattern(trained: tuple[Path, dict]) -> None:
    _, manifest = trained
    metrics = manifest["metrics"]
    for key in ("roc_auc", "pr_auc", "recall_at_1pct_fpr"):
        assert 0.0 <= metrics["test"][key] <= 1.0
    held = metrics["held_out"]
    assert held["pattern"] == "device_farm" and held["n"] == 25
    assert 0.0 <= held["roc_auc"] <= 1.0
    per = metrics["per_pattern"]
    assert per["device_farm"]["held_out"] is True
    assert {"self_referral_alias", "disposable_burst", "legit_friend"} <= set(per)
    assert metrics["threshold_table"]
    card = (Path(trained[0]) / manifest["version"] / "model_card.md").read_text()
    assert "device_farm" in card and "held out" in card.lower()
    assert "Limitations" in card


def test_loaded_model_scores_and_explains(trained: tuple[Path, dict]) -> None:
    out, manifest = trained
    model = load_model(out)
    assert model.version == manifest["version"]
    assert tuple(model.feature_names) == FEATURE_NAMES
    x, _, patterns = small_dataset()
    scores = model.score(x)
    assert scores.shape == (len(x),)
    assert np.all((scores >= 0) & (scores <= 100))
    legit = scores[np.array(patterns) == "legit_friend"]
    alias = scores[np.array(patterns) == "self_referral_alias"]
    assert np.median(alias) > np.median(legit)
    row = x[patterns.index("self_referral_alias")]
    explained = model.explain(row)
    assert explained, "an alias self-referral should have drivers"
    names = [item.feature for item in explained]
    assert set(names) <= set(FEATURE_NAMES)
    assert {"same_device", "same_ip", "email_alias"} & set(names)
    assert all(c > 0 for _, c, _ in explained)
    assert model.explain(row) == explained  # deterministic
    assert model.decide(float(scores.max())) in ("review", "reject")


def test_same_seed_and_data_give_the_same_version(tmp_path: Path) -> None:
    x, y, patterns = small_dataset()
    first = train(x, y, patterns, tmp_path / "a", seed=3, config=FAST, created_at=WHEN)
    second = train(x, y, patterns, tmp_path / "b", seed=3, config=FAST, created_at=WHEN)
    assert first["version"] == second["version"]
    a = tmp_path / "a" / first["version"] / "isolation_forest.npz"
    b = tmp_path / "b" / second["version"] / "isolation_forest.npz"
    assert a.read_bytes() == b.read_bytes()
    other = train(x, y, patterns, tmp_path / "c", seed=4, config=FAST, created_at=WHEN)
    assert other["version"] != first["version"]


def test_trains_without_labels(tmp_path: Path) -> None:
    x, _, _ = small_dataset(seed=1)
    manifest = train(x, None, None, tmp_path, seed=1, config=FAST, created_at=WHEN)
    assert manifest["calibration"]["method"] == "quantile"
    assert manifest["artifacts"]["supervised"] is None
    assert manifest["held_out_pattern"] is None
    assert "test" not in manifest["metrics"]
    t = manifest["thresholds"]
    assert t["approve"] <= t["review"] <= t["reject"]
    model = load_model(tmp_path)
    scores = model.score(x)
    assert scores.min() >= 0 and scores.max() <= 100
    # Quantile calibration: about reject_legit_fpr of traffic at or above reject.
    assert np.mean(scores >= t["reject"]) < 0.05


def test_text_labels_are_accepted(tmp_path: Path) -> None:
    x, y, patterns = small_dataset(seed=2)
    text = np.where(y == 1, "fraud", "legit")
    manifest = train(x, text, patterns, tmp_path, seed=2, config=FAST, created_at=WHEN)
    assert manifest["metrics"]["test"]["n_fraud"] > 0


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    x, y, patterns = small_dataset()
    with pytest.raises(ValueError, match="features"):
        train(x[:, :5], y, patterns, tmp_path, seed=0, config=FAST)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        train(bad, y, patterns, tmp_path, seed=0, config=FAST)
    with pytest.raises(ValueError, match="labels"):
        train(x, y[:-1], patterns, tmp_path, seed=0, config=FAST)


def test_tampered_artifact_is_refused(tmp_path: Path) -> None:
    x, y, patterns = small_dataset()
    manifest = train(x, y, patterns, tmp_path, seed=0, config=FAST, created_at=WHEN)
    artifact = tmp_path / manifest["version"] / "isolation_forest.npz"
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(tmp_path)


def test_newest_version_without_current(tmp_path: Path) -> None:
    x, y, patterns = small_dataset()
    older = datetime(2025, 1, 1, tzinfo=UTC)
    train(x, y, patterns, tmp_path, seed=0, config=FAST, created_at=older, set_current=False)
    newer = train(x, y, patterns, tmp_path, seed=1, config=FAST, created_at=WHEN, set_current=False)
    assert not (tmp_path / CURRENT).exists()
    assert resolve_version_dir(tmp_path).name == newer["version"]
    with pytest.raises(ModelError):
        load_model(tmp_path / "nothing-here")


scores_strategy = st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=200)


@settings(max_examples=60, deadline=None)
@given(scores=scores_strategy, legit_share=st.floats(0.1, 1.0), review=st.floats(0.0, 0.2))
def test_threshold_rule_properties(scores: list[float], legit_share: float, review: float) -> None:
    values = np.array(scores)
    legit = values[: max(1, int(len(values) * legit_share))]
    t = choose_thresholds(values, legit, target_review_rate=review, reject_legit_fpr=0.01)
    assert 0.0 <= t.review <= t.reject <= 100.0
    if t.reject < 100.0:
        assert np.mean(legit >= t.reject) <= 0.01
    band = np.mean((values >= t.review) & (values < t.reject))
    assert band <= review + 1e-12


@settings(max_examples=60, deadline=None)
@given(scores=scores_strategy, legit_share=st.floats(0.1, 1.0), cap=st.floats(0.0, 0.2))
def test_review_line_holds_at_most_the_legit_share_it_is_allowed(
    scores: list[float], legit_share: float, cap: float
) -> None:
    # Given validation scores and a cap on legitimate referrals held for review
    values = np.array(scores)
    legit = values[: max(1, int(len(values) * legit_share))]
    # When thresholds are chosen with a generous review capacity
    t = choose_thresholds(
        values, legit, target_review_rate=1.0, reject_legit_fpr=0.01, review_legit_fpr=cap
    )
    # Then no more than the cap of legitimate referrals scores at or above the review line
    if t.review < t.reject:
        assert np.mean(legit >= t.review) <= cap + 1e-12


def test_nothing_is_held_out_unless_asked(tmp_path: Path) -> None:
    x, y, patterns = small_dataset(seed=2)
    manifest = train(x, y, patterns, tmp_path, seed=2, config=FAST, created_at=WHEN)
    assert manifest["held_out_pattern"] is None
    assert manifest["metrics"]["rows"]["held_out"] == 0


def test_the_manifest_says_what_fraud_probability_each_score_stood_for(
    trained: tuple[Path, dict],
) -> None:
    # Given a model trained on labelled rows
    _, manifest = trained
    curve = manifest["fraud_probability"]
    # Then the curve rises with the score and stays a probability
    assert curve["scores"] == sorted(curve["scores"])
    assert curve["probabilities"] == sorted(curve["probabilities"])
    assert curve["probabilities"][0] >= 0.0 and curve["probabilities"][-1] <= 100.0


def test_the_model_card_prices_the_lines_for_typical_referral_values(
    trained: tuple[Path, dict],
) -> None:
    out, manifest = trained
    card = (Path(out) / manifest["version"] / "model_card.md").read_text()
    table = manifest["metrics"]["priced_policy"]
    assert [row["referral_value"] for row in table] == ["10", "20", "50", "100", "200"]
    # a richer referral is reviewed from a lower fraud probability
    assert table[-1]["review_probability"] < table[0]["review_probability"]
    assert "## Decision policy" in card
