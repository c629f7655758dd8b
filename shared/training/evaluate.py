"""The evaluation protocol: how rows are split, thresholds chosen and metrics computed.

Rows of the held-out fraud pattern never reach fitting, calibration or threshold
choice. The rest is split per pattern (else per label), so every pattern appears
in validation and test. Metrics are computed on the test rows only, and for the
held-out pattern against the test split's legitimate rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from shared.scoring.model import Thresholds
from shared.scoring.policy import ProbabilityKnots

THRESHOLD_GRID = tuple(float(t) for t in range(5, 100, 5))


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    held_out: np.ndarray


def split_rows(
    n: int,
    y: np.ndarray | None,
    patterns: list[str] | None,
    held_out_pattern: str | None,
    *,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
) -> Split:
    """Row indices per split; the held-out pattern's rows go to ``held_out`` only."""
    held: np.ndarray = np.zeros(n, dtype=bool)
    if patterns is not None and held_out_pattern is not None:
        held = np.array([p == held_out_pattern for p in patterns])
    if patterns is not None:
        keys = list(patterns)
    elif y is not None:
        keys = [str(v) for v in y]
    else:
        keys = ["all"] * n
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if not held[i]:
            groups.setdefault(key, []).append(i)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
    for key in sorted(groups):
        members = np.array(groups[key], dtype=np.int64)
        members = members[rng.permutation(len(members))]
        n_val = round(len(members) * validation_fraction)
        n_test = round(len(members) * test_fraction)
        if len(members) >= 3:
            # Small groups still get one row in every split, so each is evaluated.
            n_val, n_test = max(n_val, 1), max(n_test, 1)
        parts["validation"].append(members[:n_val])
        parts["test"].append(members[n_val : n_val + n_test])
        parts["train"].append(members[n_val + n_test :])

    def joined(name: str) -> np.ndarray:
        arrays = parts[name]
        return np.sort(np.concatenate(arrays)) if arrays else np.zeros(0, dtype=np.int64)

    validation = joined("validation")
    if validation.size == 0:
        validation = joined("train")  # tiny data: calibrate on what there is
    return Split(joined("train"), validation, joined("test"), np.flatnonzero(held))


def enough_labels(y: np.ndarray, split: Split, min_fraud: int) -> bool:
    train_fraud = int(y[split.train].sum())
    val = y[split.validation]
    return (
        train_fraud >= min_fraud
        and int(val.sum()) >= 2
        and int((val == 0).sum()) >= 2
        and int((y[split.train] == 0).sum()) >= 2
    )


def choose_thresholds(
    scores: np.ndarray,
    legit_scores: np.ndarray,
    *,
    target_review_rate: float,
    reject_legit_fpr: float,
    review_legit_fpr: float = 1.0,
) -> Thresholds:
    """Thresholds from validation scores (``score >= threshold`` flags).

    * ``reject``: the lowest score at which at most ``reject_legit_fpr`` of legitimate
      referrals score at or above it: auto-rejecting a real customer is the costliest
      mistake, so this is a hard cap.
    * ``review``: the lowest score at or below ``reject`` such that at most
      ``target_review_rate`` of all referrals land in ``[review, reject)`` (the
      finance team's capacity) and at most ``review_legit_fpr`` of legitimate referrals
      score at or above it (every one of them is a good customer kept waiting).

    Without labels, pass every score as legitimate: ``reject`` then becomes "the top
    ``reject_legit_fpr`` of traffic".
    """
    scores = np.asarray(scores, dtype=np.float64)
    legit = np.sort(np.asarray(legit_scores, dtype=np.float64))
    candidates = np.unique(np.concatenate([scores, legit, [100.0]]))
    candidates = candidates[(candidates >= 0.0) & (candidates <= 100.0)]
    if legit.size:
        at_or_above = legit.size - np.searchsorted(legit, candidates, side="left")
        fpr = at_or_above / legit.size
    else:
        fpr = np.zeros(len(candidates))
    allowed = candidates[fpr <= reject_legit_fpr]
    reject = float(allowed.min()) if allowed.size else 100.0

    ordered = np.sort(scores)
    below_reject = candidates[candidates <= reject]
    if ordered.size:
        in_band = np.searchsorted(ordered, reject, side="left") - np.searchsorted(
            ordered, below_reject, side="left"
        )
        share = in_band / ordered.size
    else:
        share = np.zeros(len(below_reject))
    if legit.size:
        at_or_above = legit.size - np.searchsorted(legit, below_reject, side="left")
        legit_ok = at_or_above / legit.size <= review_legit_fpr
    else:
        legit_ok = np.ones(len(below_reject), dtype=bool)
    ok = below_reject[(share <= target_review_rate) & legit_ok]
    review = float(ok.min()) if ok.size else reject
    return Thresholds(review=min(review, reject), reject=reject)


def _safe_auc(y: np.ndarray, s: np.ndarray) -> float | None:
    if y.size == 0 or y.min() == y.max():
        return None
    return float(roc_auc_score(y, s))


def _safe_ap(y: np.ndarray, s: np.ndarray) -> float | None:
    if y.size == 0 or y.max() == 0:
        return None
    return float(average_precision_score(y, s))


def _recall_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float) -> float | None:
    legit, fraud = s[y == 0], s[y == 1]
    if legit.size == 0 or fraud.size == 0:
        return None
    # Flag what scores strictly above the (1 - fpr) quantile of legitimate scores.
    cut = float(np.quantile(legit, 1.0 - fpr, method="higher"))
    return float(np.mean(fraud > cut))


def ranking(y: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    return {
        "roc_auc": _safe_auc(y, s),
        "pr_auc": _safe_ap(y, s),
        "recall_at_1pct_fpr": _recall_at_fpr(y, s, 0.01),
    }


def evaluate(
    risk: np.ndarray,
    anomaly_only: np.ndarray | None,
    y: np.ndarray | None,
    patterns: list[str] | None,
    split: Split,
    thresholds: Thresholds,
    held_out_pattern: str | None,
) -> dict[str, Any]:
    test = split.test
    metrics: dict[str, Any] = {
        "rows": {
            "train": len(split.train),
            "validation": len(split.validation),
            "test": len(test),
            "held_out": len(split.held_out),
        },
        "test_decisions": _decision_shares(risk[test], thresholds),
    }
    if y is None:
        return metrics
    yt = y[test]
    test_metrics: dict[str, Any] = {
        "n_fraud": int(yt.sum()),
        "n_legit": int((yt == 0).sum()),
        **ranking(yt, risk[test]),
        **_rates(yt, risk[test], thresholds),
    }
    metrics["test"] = test_metrics
    if anomaly_only is not None:
        metrics["test_anomaly_only"] = ranking(yt, anomaly_only[test])
    legit_test = test[yt == 0]
    if split.held_out.size:
        rows = np.concatenate([split.held_out, legit_test])
        yh = np.concatenate(
            [
                np.ones(len(split.held_out), dtype=np.int64),
                np.zeros(len(legit_test), dtype=np.int64),
            ]
        )
        held: dict[str, Any] = {
            "pattern": held_out_pattern,
            "n": len(split.held_out),
            "compared_with": "test legit rows",
            **ranking(yh, risk[rows]),
            "recall_review_or_reject": float(np.mean(risk[split.held_out] >= thresholds.review)),
            "recall_reject": float(np.mean(risk[split.held_out] >= thresholds.reject)),
        }
        if anomaly_only is not None:
            held["anomaly_only"] = ranking(yh, anomaly_only[rows])
        metrics["held_out"] = held
    if patterns is not None:
        metrics["per_pattern"] = _per_pattern(
            risk, y, patterns, np.concatenate([test, split.held_out]), thresholds, held_out_pattern
        )
    metrics["threshold_table"] = _threshold_table(yt, risk[test], thresholds)
    return metrics


# Referral values (both sides' rewards, in the program's currency) the model card prices.
PRICED_VALUES = ("10", "20", "50", "100", "200")


def priced_table(
    y: np.ndarray, scores: np.ndarray, knots: ProbabilityKnots
) -> list[dict[str, Any]]:
    """For referrals worth each of PRICED_VALUES: the priced lines (`shared.scoring.policy`)
    on the score, and what they would do to the test split, before the rules."""
    from decimal import Decimal

    from shared.scoring.policy import priced_lines

    table = []
    fraud, legit = scores[y == 1], scores[y == 0]
    for value in PRICED_VALUES:
        priced = priced_lines(Decimal(value))
        assert priced is not None
        lines = knots.on_scores(priced)
        flagged = scores >= lines.review_at
        table.append(
            {
                "referral_value": value,
                "review_probability": round(priced.review_at, 2),
                "reject_probability": round(priced.reject_at, 2),
                "review_at": round(lines.review_at, 2),
                "reject_at": round(lines.reject_at, 2),
                "fraud_approved": _share(fraud < lines.review_at),
                "legit_flagged": _share(legit >= lines.review_at),
                "review_load": _share(flagged & (scores < lines.reject_at)),
                "rejected": _share(scores >= lines.reject_at),
            }
        )
    return table


def _share(mask: np.ndarray) -> float | None:
    return float(np.mean(mask)) if mask.size else None


def _decision_shares(scores: np.ndarray, thresholds: Thresholds) -> dict[str, float | None]:
    if scores.size == 0:
        return {"approve": None, "review": None, "reject": None}
    reject = float(np.mean(scores >= thresholds.reject))
    flagged = float(np.mean(scores >= thresholds.review))
    return {"approve": 1.0 - flagged, "review": flagged - reject, "reject": reject}


def _rates(y: np.ndarray, s: np.ndarray, thresholds: Thresholds) -> dict[str, float | None]:
    legit, fraud = s[y == 0], s[y == 1]

    def share(values: np.ndarray, cut: float) -> float | None:
        return float(np.mean(values >= cut)) if values.size else None

    return {
        "recall_review_or_reject": share(fraud, thresholds.review),
        "recall_reject": share(fraud, thresholds.reject),
        "legit_fpr_review_or_reject": share(legit, thresholds.review),
        "legit_fpr_reject": share(legit, thresholds.reject),
    }


def _per_pattern(
    risk: np.ndarray,
    y: np.ndarray,
    patterns: list[str],
    rows: np.ndarray,
    thresholds: Thresholds,
    held_out_pattern: str | None,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    names = np.array(patterns, dtype=object)[rows]
    for name in sorted(set(names.tolist())):
        members = rows[names == name]
        scores = risk[members]
        out[name] = {
            "label": "fraud" if y[members].mean() >= 0.5 else "legit",
            "n": len(members),
            "held_out": name == held_out_pattern,
            "review_or_reject": float(np.mean(scores >= thresholds.review)),
            "reject": float(np.mean(scores >= thresholds.reject)),
            "median_score": float(np.median(scores)),
        }
    return out


def _threshold_table(y: np.ndarray, s: np.ndarray, thresholds: Thresholds) -> list[dict[str, Any]]:
    cuts = sorted({*THRESHOLD_GRID, thresholds.review, thresholds.reject})
    legit, fraud = s[y == 0], s[y == 1]
    table = []
    for cut in cuts:
        table.append(
            {
                "threshold": cut,
                "flag_rate": float(np.mean(s >= cut)) if s.size else None,
                "legit_fpr": float(np.mean(legit >= cut)) if legit.size else None,
                "recall": float(np.mean(fraud >= cut)) if fraud.size else None,
                "precision": (float(np.mean(y[s >= cut])) if np.any(s >= cut) else None),
                "role": "review"
                if cut == thresholds.review
                else "reject"
                if cut == thresholds.reject
                else None,
            }
        )
    return table
