"""The leave-one-generator-out plan and how its matrix is judged."""

from __future__ import annotations

from typing import Any

from shared.training.generalization import folds, generators, verdict, worst


def _row(kind: str, on: str, **figures: Any) -> dict[str, Any]:
    base = {
        "roc_auc": 0.99,
        "recall_at_1pct_fpr": 0.9,
        "fraud_unpaid_share": 0.97,
        "fraud_money_leaked_share": 0.02,
        "legit_flagged_share": 0.01,
        "patterns": {},
    }
    return {"kind": kind, "evaluated_on": on, "trained_on": [], **base, **figures}


def test_a_held_out_model_never_trains_on_the_generator_it_is_judged_on() -> None:
    plan = folds(["a", "b", "c"])
    held_out = [f for f in plan if f.kind == "held_out"]
    assert [f.evaluated_on for f in held_out] == ["a", "b", "c"]
    for fold in held_out:
        assert fold.evaluated_on not in fold.trained_on
        assert len(fold.trained_on) == 2


def test_each_generator_also_gets_a_model_of_its_own_history() -> None:
    same = [f for f in folds(["a", "b", "c"]) if f.kind == "same_generator"]
    assert [(f.evaluated_on, f.trained_on) for f in same] == [
        ("a", ("a",)),
        ("b", ("b",)),
        ("c", ("c",)),
    ]


def test_the_claimed_figure_is_the_worst_generator_not_the_average() -> None:
    rows = [
        _row("held_out", "a", roc_auc=0.99, fraud_money_leaked_share=0.01),
        _row("held_out", "b", roc_auc=0.90, fraud_money_leaked_share=0.20),
        _row("held_out", "c", roc_auc=0.97, fraud_money_leaked_share=0.05),
        _row("same_generator", "b", roc_auc=0.50),
    ]
    claimed = worst(rows, "held_out")
    assert claimed["roc_auc"] == {"value": 0.90, "generator": "b"}
    assert claimed["fraud_money_leaked_share"] == {"value": 0.20, "generator": "b"}


def test_a_legit_behaviour_with_too_much_friction_misses_the_target() -> None:
    household = {"label": "legit", "referrals": 100, "flagged_share": 0.11}
    met = verdict(_row("held_out", "a", patterns={"household": household}))
    assert met["every_behaviour_friction"] is False
    assert met["roc_auc"] is True


def test_same_generator_rows_are_held_to_the_stricter_targets() -> None:
    assert verdict(_row("held_out", "a", roc_auc=0.96))["roc_auc"] is True
    assert verdict(_row("same_generator", "a", roc_auc=0.96))["roc_auc"] is False


def test_a_missing_figure_is_not_met() -> None:
    assert (
        verdict(_row("held_out", "a", fraud_money_leaked_share=None))["fraud_money_leaked_share"]
        is False
    )


def test_generators_are_found_by_their_main_module(tmp_path: Any) -> None:
    for name in ("zeta", "alpha"):
        (tmp_path / "generators" / name).mkdir(parents=True)
        (tmp_path / "generators" / name / "__main__.py").write_text("")
    (tmp_path / "generators" / "notes").mkdir()
    assert generators(tmp_path) == ["alpha", "zeta"]
