"""How a backtest's decisions score against labels: `rewards evaluate DECISIONS LABELS EVENTS`.

The figures are the ones a merchant cares about at the end of a replay: ranking quality
(ROC-AUC, PR-AUC, recall at 1% legit FPR over scored referrals), how much fraud was left
unpaid (an approved referral still holding counts as paid; a reversed one whose rewards were all
cancelled or clawed back counts as unpaid), how many legitimate converted
referrals were sent to review or rejected, and the share of fraud reward money paid out.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from shared.schemas.programs import ProgramCreate
from shared.scoring.policy import referral_value

UNPAID = {"pending", "review", "rejected", "expired", "refused"}
PAID_REWARD = {"created", "queued", "sent", "confirmed"}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _program_reward_value(events: Path) -> dict[str, Decimal]:
    """Each program's referral value, read as the replay reads the program: points rewards
    count at the program's point value."""
    values: dict[str, Decimal] = {}
    for op in _rows(events):
        if op["op"] == "program":
            terms = ProgramCreate.model_validate(op["body"]).command()
            values[op["ref"]] = referral_value(terms)
    return values


class _Tally:
    """Counts over the labelled decision lines, in the order the lines are read."""

    def __init__(self, value_of: dict[str, Decimal]) -> None:
        self.value_of = value_of
        self.scores: list[float] = []
        self.ys: list[int] = []
        self.fraud = self.fraud_unpaid = self.legit_scored = self.legit_flagged = 0
        self.fraud_value = self.fraud_leaked = Decimal(0)
        self.per_pattern: dict[str, dict[str, Any]] = {}

    def add(self, line: dict[str, Any], row: dict[str, Any]) -> None:
        label = row["label"]
        pattern = self.per_pattern.setdefault(
            str(row.get("pattern") or label), {"label": label, "referrals": 0, "hits": 0}
        )
        risk = line.get("risk")
        is_fraud = label == "fraud"
        if risk is not None:
            self.scores.append(float(risk["score"]))
            self.ys.append(1 if is_fraud else 0)
        if is_fraud:
            self._add_fraud(line, pattern, scored=risk is not None)
        elif risk is not None:
            flagged = risk["decision"] in ("review", "reject")
            self.legit_scored += 1
            self.legit_flagged += flagged
            pattern["referrals"] += 1
            pattern["hits"] += flagged

    def _add_fraud(self, line: dict[str, Any], pattern: dict[str, Any], *, scored: bool) -> None:
        self.fraud += 1
        rewards = line.get("rewards", [])
        paid_now = any(r["status"] in PAID_REWARD for r in rewards)
        unpaid = line["status"] in UNPAID or (line["status"] == "reversed" and not paid_now)
        self.fraud_unpaid += unpaid
        pattern["referrals"] += 1
        pattern["hits"] += unpaid
        if scored:
            program_value = self.value_of.get(line["program"], Decimal(0))
            self.fraud_value += program_value
            paid = sum(
                (Decimal(r["amount"]) for r in rewards if r["status"] in PAID_REWARD), Decimal(0)
            )
            if line["status"] == "holding":
                # A referral still holding counts as paid: its program's whole reward.
                paid = program_value
            self.fraud_leaked += paid


def evaluate(decisions: Path, labels: Path, events: Path) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    label_rows = {(r["program"], r["referee"]): r for r in _rows(labels)}
    tally = _Tally(_program_reward_value(events))
    for line in _rows(decisions):
        row = label_rows.get((line["program"], line["referee"]))
        if row is not None:
            tally.add(line, row)
    y, s = np.asarray(tally.ys), np.asarray(tally.scores)
    fpr, tpr, _ = roc_curve(y, s)
    return {
        "scored": len(tally.ys),
        "roc_auc": round(float(roc_auc_score(y, s)), 4),
        "pr_auc": round(float(average_precision_score(y, s)), 4),
        "recall_at_1pct_fpr": round(float(np.interp(0.01, fpr, tpr)), 4),
        "fraud_referrals": tally.fraud,
        "fraud_unpaid_share": round(tally.fraud_unpaid / tally.fraud, 4) if tally.fraud else None,
        "legit_converted": tally.legit_scored,
        "legit_flagged_share": (
            round(tally.legit_flagged / tally.legit_scored, 4) if tally.legit_scored else None
        ),
        "fraud_money_leaked_share": (
            round(float(tally.fraud_leaked / tally.fraud_value), 4) if tally.fraud_value else None
        ),
        "patterns": _pattern_shares(tally.per_pattern),
    }


def _pattern_shares(per_pattern: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per fraud pattern the share of its referrals left unpaid; per legit behaviour the
    share of its converted referrals sent to review or rejected."""
    shares: dict[str, dict[str, Any]] = {}
    for name, counts in sorted(per_pattern.items()):
        if not counts["referrals"]:
            continue
        measure = "unpaid_share" if counts["label"] == "fraud" else "flagged_share"
        shares[name] = {
            "label": counts["label"],
            "referrals": counts["referrals"],
            measure: round(counts["hits"] / counts["referrals"], 4),
        }
    return shares


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="score a backtest's decisions against labels")
    parser.add_argument("decisions", type=Path)
    parser.add_argument("labels", type=Path)
    parser.add_argument("events", type=Path)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    print(json.dumps(evaluate(args.decisions, args.labels, args.events), indent=2))
    return 0
