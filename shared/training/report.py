"""Human-facing outputs of a training run: the model card and the precision-recall plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve

from shared.scoring.feature_spec import SPEC_BY_NAME
from shared.training.evaluate import Split


def plot_pr(
    path: Path,
    risk: np.ndarray,
    anomaly_only: np.ndarray | None,
    y: np.ndarray | None,
    patterns: list[str] | None,
    split: Split,
    held_out_pattern: str | None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    drawn = False
    if y is not None:
        test = split.test
        curves = [("test: model score", y[test], risk[test])]
        if anomaly_only is not None:
            curves.append(("test: anomaly score alone", y[test], anomaly_only[test]))
        if split.held_out.size:
            legit = test[y[test] == 0]
            rows = np.concatenate([split.held_out, legit])
            yh = np.concatenate([np.ones(len(split.held_out)), np.zeros(len(legit))])
            curves.append((f"held-out pattern: {held_out_pattern}", yh, risk[rows]))
        for label, truth, score in curves:
            if truth.size and truth.min() != truth.max():
                precision, recall, _ = precision_recall_curve(truth, score)
                ax.plot(recall, precision, label=label)
                drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no labels: no precision-recall curve", ha="center", va="center")
    ax.set_xlabel("recall (fraud caught)")
    ax.set_ylabel("precision (flagged that are fraud)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(loc="lower left")
    ax.set_title("Precision-recall")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _num(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in rows.items()) or "n/a"


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def model_card(manifest: dict[str, Any]) -> str:
    """A human-readable summary of a manifest, honest about what was not measured."""
    metrics = manifest.get("metrics", {})
    sections = [
        _card_summary(manifest, metrics),
        _card_features(manifest),
        _card_thresholds(manifest, metrics),
        _card_policy(metrics),
        _card_test(metrics),
        _card_held_out(metrics),
        _card_patterns(metrics),
        _card_threshold_table(metrics),
        LIMITATIONS,
    ]
    return "\n".join(line for section in sections for line in section)


def _card_summary(manifest: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    anomaly = manifest["artifacts"]["anomaly"]
    supervised = manifest["artifacts"].get("supervised")
    if supervised:
        supervised_line = (
            f"* Gradient-boosted trees ({supervised['n_estimators']} trees of depth "
            f"{supervised['max_depth']}) on labelled training rows, combined with the "
            "calibrated anomaly probability as a noisy-OR."
        )
    else:
        reason = metrics.get("supervised", {}).get("reason", "not trained")
        supervised_line = f"* No supervised model: {reason}."
    if manifest["calibration"]["method"] == "quantile":
        calibration = "risk = share of training traffic that was less anomalous"
    else:
        calibration = "logistic fit of the anomaly score on validation labels"
    return [
        f"# Fraud model {manifest['version']}",
        "",
        f"Created {manifest['created_at']} with scikit-learn {manifest.get('sklearn_version')}, "
        f"numpy {manifest.get('numpy_version')}; seed {manifest.get('seed')}.",
        "",
        "## What it is",
        "",
        f"* Isolation forest ({anomaly['n_estimators']} trees, {anomaly['max_samples']} "
        "samples per tree), fitted without looking at labels.",
        supervised_line,
        f"* Calibration `{manifest['calibration']['method']}`: {calibration}.",
        "* Count and duration features enter the models as log1p "
        f"({', '.join(manifest.get('preprocess', {}).get('log1p', [])) or 'none'}).",
        "* Serving reads the npz/JSON artifacts with numpy only; its scores equal scikit-learn's.",
        "",
        "## Data",
        "",
        f"* Training data SHA-256: `{manifest.get('training_data_sha256')}`",
        f"* Source: {manifest.get('training_data') or 'feature matrix passed to train()'}",
        f"* Rows: {_rows(metrics.get('rows', {}))}",
        "* Held-out fraud pattern (never used for fitting, calibration or thresholds): "
        f"`{manifest.get('held_out_pattern')}`",
        "",
    ]


def _card_features(manifest: dict[str, Any]) -> list[str]:
    lines = [
        "## Features",
        "",
        "| # | feature | suspicious when | meaning |",
        "|---|---|---|---|",
    ]
    for i, name in enumerate(manifest["feature_names"]):
        spec = SPEC_BY_NAME.get(name)
        direction = spec.direction if spec else "?"
        lines.append(f"| {i} | `{name}` | {direction} | {spec.description if spec else ''} |")
    return [*lines, ""]


def _card_thresholds(manifest: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    t = manifest["thresholds"]
    config = manifest["config"]
    shares = metrics.get("test_decisions", {})
    return [
        "## Thresholds",
        "",
        f"Risk 0-100: approve below {t['review']:.2f}, review from {t['review']:.2f}, "
        f"reject from {t['reject']:.2f}.",
        "",
        "Rule: reject = lowest validation score whose legit false-positive rate is at most "
        f"{_pct(config['reject_legit_fpr'])}; review = lowest score whose band below reject "
        f"holds at most {_pct(config['target_review_rate'])} of validation traffic.",
        "",
        f"Test-split decisions: approve {_pct(shares.get('approve'))}, review "
        f"{_pct(shares.get('review'))}, reject {_pct(shares.get('reject'))}.",
        "",
    ]


def _card_policy(metrics: dict[str, Any]) -> list[str]:
    table = metrics.get("priced_policy")
    if not table:
        return []
    lines = [
        "## Decision policy",
        "",
        "Serving prices the model's lines per program (`shared/scoring/policy.py`): with `V` "
        "the money a referral's two rewards are worth, approving costs the fraud paid, a "
        "review costs a reviewer's time, a legitimate friend's wait and the fraud a reviewer "
        "misses, and a refusal costs a wrongly refused friend (three times `V`). The "
        "cheapest action wins; the lines above apply only to a program that pays nothing. "
        "The fraud probability a score stands for comes from the validation rows "
        "(`fraud_probability` in the manifest). Firm and hard rules still hold and reject "
        "on their own; soft rules need the model. Expected on the test split, per value:",
        "",
        "| referral worth | review from (probability, score) | reject from (probability, score) "
        "| fraud approved | legit flagged | review load | rejected |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table:
        lines.append(
            f"| {row['referral_value']} | {row['review_probability']:.1f}%, "
            f"{row['review_at']:.2f} | {row['reject_probability']:.1f}%, {row['reject_at']:.2f} "
            f"| {_pct(row['fraud_approved'])} | {_pct(row['legit_flagged'])} "
            f"| {_pct(row['review_load'])} | {_pct(row['rejected'])} |"
        )
    return [*lines, ""]


def _card_test(metrics: dict[str, Any]) -> list[str]:
    test = metrics.get("test")
    if not test:
        return ["## Metrics", "", "No labels: no detection metrics.", ""]
    alone = metrics.get("test_anomaly_only", {})
    lines = [
        "## Metrics (test split, fraud patterns seen in training)",
        "",
        "| metric | model | anomaly score alone |",
        "|---|---|---|",
    ]
    for key, label in (
        ("roc_auc", "ROC-AUC"),
        ("pr_auc", "PR-AUC"),
        ("recall_at_1pct_fpr", "recall at 1% legit FPR"),
    ):
        lines.append(f"| {label} | {_num(test.get(key))} | {_num(alone.get(key))} |")
    return [
        *lines,
        "",
        f"At the chosen thresholds: fraud recall {_pct(test.get('recall_review_or_reject'))} "
        f"(review or reject) and {_pct(test.get('recall_reject'))} (reject); legit "
        f"false-positive rate {_pct(test.get('legit_fpr_review_or_reject'))} (review or "
        f"reject) and {_pct(test.get('legit_fpr_reject'))} (reject); "
        f"{test.get('n_fraud')} fraud and {test.get('n_legit')} legit test rows.",
        "",
    ]


def _card_held_out(metrics: dict[str, Any]) -> list[str]:
    held = metrics.get("held_out")
    if not held:
        return []
    lines = [
        f"## Held-out pattern `{held['pattern']}` ({held['n']} rows, never seen in training)",
        "",
        f"* Against the test split's legit rows: ROC-AUC {_num(held.get('roc_auc'))}, "
        f"PR-AUC {_num(held.get('pr_auc'))}, recall at 1% legit FPR "
        f"{_pct(held.get('recall_at_1pct_fpr'))}.",
        f"* Caught at the thresholds: {_pct(held.get('recall_review_or_reject'))} review or "
        f"reject, {_pct(held.get('recall_reject'))} reject.",
    ]
    alone = held.get("anomaly_only")
    if alone:
        lines.append(
            f"* Anomaly score alone: ROC-AUC {_num(alone.get('roc_auc'))}, "
            f"PR-AUC {_num(alone.get('pr_auc'))}."
        )
    return [*lines, ""]


def _card_patterns(metrics: dict[str, Any]) -> list[str]:
    per = metrics.get("per_pattern")
    if not per:
        return []
    lines = [
        "## Per pattern (test split; the held-out pattern: all its rows)",
        "",
        "For fraud patterns the shares are recall; for legitimate ones, false positives.",
        "",
        "| pattern | label | rows | review or reject | reject | median score |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in sorted(per.items(), key=lambda kv: (kv[1]["label"], kv[0])):
        tag = " (held out)" if row.get("held_out") else ""
        lines.append(
            f"| `{name}`{tag} | {row['label']} | {row['n']} | {_pct(row['review_or_reject'])} "
            f"| {_pct(row['reject'])} | {row['median_score']:.1f} |"
        )
    return [*lines, ""]


def _card_threshold_table(metrics: dict[str, Any]) -> list[str]:
    table = metrics.get("threshold_table")
    if not table:
        return []
    lines = [
        "## Threshold table (test split)",
        "",
        "| score >= | flagged | legit FPR | recall | precision | |",
        "|---|---|---|---|---|---|",
    ]
    for row in table:
        lines.append(
            f"| {row['threshold']:.2f} | {_pct(row['flag_rate'])} | {_pct(row['legit_fpr'])} "
            f"| {_pct(row['recall'])} | {_pct(row['precision'])} | {row['role'] or ''} |"
        )
    return [*lines, ""]


LIMITATIONS = [
    "## Limitations",
    "",
    "* Labels and patterns come from a synthetic generator; real fraud is more varied and "
    "adapts. Treat these metrics as optimistic.",
    "* The anomaly score flags what is rare, not what is wrong: heavy-but-legit advocates, "
    "households and shared carrier IPs score above average and need the review band.",
    "* Fraud that only becomes visible later (ring edges before the ring closes, refunds "
    "after payout) is scored with the evidence present at scoring time; hourly re-scoring "
    "is what catches it, so the per-referral recall here understates it.",
    "* The supervised part only knows patterns present in its training labels; the held-out "
    "pattern's numbers are the honest estimate for new kinds of fraud.",
    "* An isolation forest can only cut along features that vary in its training sample. "
    "Fraud whose tell-tale feature is (almost) never non-zero in ordinary traffic, such as a "
    "device reused across many referees, is not isolated by it; the explicit rules (for "
    "example device velocity) have to cover such cases.",
    "* Explanations credit features by how early they isolate a referral in the forest; "
    "they describe the anomaly model, not the supervised one.",
    "",
]
