"""The numpy gradient-boosting scorer reproduces scikit-learn's classifier outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier

from shared.scoring.supervised import GradientBoostingScorer
from shared.training.export import export_gradient_boosting, write_npz


def test_decision_function_and_probability_match(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2_000, 24))
    x[:, 3] = rng.random(2_000) < 0.1
    y = ((x[:, 0] + x[:, 1] ** 2 + 2 * x[:, 3] + rng.normal(size=2_000)) > 2).astype(int)
    model = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(x, y)
    path = tmp_path / "gb.npz"
    write_npz(path, export_gradient_boosting(model, x[0]))
    scorer = GradientBoostingScorer.load(path)
    fresh = rng.normal(size=(10_000, 24))
    assert np.abs(scorer.decision_function(fresh) - model.decision_function(fresh)).max() <= 1e-9
    assert np.abs(scorer.predict_proba(fresh) - model.predict_proba(fresh)[:, 1]).max() <= 1e-9
    assert abs(scorer.predict_proba(fresh[0])[0] - model.predict_proba(fresh[:1])[0, 1]) <= 1e-9
