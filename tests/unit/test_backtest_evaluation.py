"""`rewards evaluate`: a backtest's decisions against labels, overall and per pattern."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.training.backtest_eval import evaluate
from shared.training.dataset import read_labels
from tests.support import program_body

PROGRAM = {
    "op": "program",
    "at": "2025-03-03T00:00:00Z",
    "ref": "p1",
    "body": program_body(
        rewards={
            "advocate": {"kind": "gift_card", "amount": "10.00", "currency": "USD"},
            "referee": {"kind": "cash", "amount": "5.00", "currency": "USD"},
        }
    ),
}


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _decision(referee: str, status: str, score: float, decision: str) -> dict[str, Any]:
    paid = [{"status": "confirmed", "amount": "10.00"}] if status == "rewarded" else []
    return {
        "program": "p1",
        "referee": referee,
        "status": status,
        "risk": {"score": score, "decision": decision},
        "rewards": paid,
    }


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    decisions = [
        _decision("f1", "rejected", 95, "reject"),
        _decision("f2", "rewarded", 10, "approve"),
        _decision("l1", "rewarded", 5, "approve"),
        _decision("l2", "review", 50, "review"),
        _decision("l3", "rewarded", 8, "approve"),
    ]
    labels = [
        {"program": "p1", "referee": "f1", "label": "fraud", "pattern": "ring"},
        {"program": "p1", "referee": "f2", "label": "fraud", "pattern": "ring"},
        {"program": "p1", "referee": "l1", "label": "legit", "pattern": "household"},
        {"program": "p1", "referee": "l2", "label": "legit", "pattern": "household"},
        # A merchant's label need not name a pattern.
        {"program": "p1", "referee": "l3", "label": "legit"},
    ]
    return (
        _write(tmp_path / "d.jsonl", decisions),
        _write(tmp_path / "l.jsonl", labels),
        _write(tmp_path / "e.jsonl", [PROGRAM]),
    )


def test_each_fraud_pattern_reports_the_share_left_unpaid(files: tuple[Path, Path, Path]) -> None:
    result = evaluate(*files)
    assert result["patterns"]["ring"] == {"label": "fraud", "referrals": 2, "unpaid_share": 0.5}


def test_each_legit_behaviour_reports_the_share_flagged(files: tuple[Path, Path, Path]) -> None:
    result = evaluate(*files)
    assert result["patterns"]["household"] == {
        "label": "legit",
        "referrals": 2,
        "flagged_share": 0.5,
    }


def test_labels_without_a_pattern_are_grouped_by_label(files: tuple[Path, Path, Path]) -> None:
    result = evaluate(*files)
    assert result["patterns"]["legit"]["referrals"] == 1
    assert result["legit_flagged_share"] == pytest.approx(1 / 3, abs=1e-4)


def test_paid_fraud_counts_as_leaked_money(files: tuple[Path, Path, Path]) -> None:
    result = evaluate(*files)
    assert result["fraud_money_leaked_share"] == pytest.approx(10 / 30, abs=1e-4)


def test_points_rewards_count_at_the_programs_point_value(
    files: tuple[Path, Path, Path],
) -> None:
    # Given a program paying 100 points a side, each point worth 0.10
    decisions, labels, events = files
    points = {"kind": "points", "points": "100"}
    program = {
        **PROGRAM,
        "body": program_body(
            rewards={"advocate": points, "referee": points},
            point_value={"amount": "0.10", "currency": "USD"},
        ),
    }
    _write(events, [program])

    # When its decisions are evaluated
    result = evaluate(decisions, labels, events)

    # Then each fraud referral is worth 20.00, of which the one paid leaked 10.00
    assert result["fraud_money_leaked_share"] == pytest.approx(10 / 40, abs=1e-4)


def test_a_label_line_without_its_label_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "l.jsonl", [{"program": "p1", "referee": "x"}])
    with pytest.raises(ValueError, match="lacks label"):
        read_labels(path)


def test_a_label_other_than_fraud_or_legit_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "l.jsonl", [{"program": "p1", "referee": "x", "label": "maybe"}])
    with pytest.raises(ValueError, match="fraud or legit"):
        read_labels(path)
