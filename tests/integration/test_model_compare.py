"""`rewards model compare` backtests two versions on one labelled history, side by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli import main
from shared.training.generator import generate, write_jsonl
from tests.model_support import bundled_version, copy_of_bundled


def _history(directory: Path) -> Path:
    """A small labelled history (377 ops, 179 referrals) in the backtest format."""
    lines, labels = generate(3, 1, 15, days=20)
    write_jsonl(directory / "events.jsonl", lines)
    write_jsonl(directory / "labels.jsonl", labels)
    return directory


def test_compare_prints_each_versions_cost_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a candidate that decides like the bundled version, and no stack to ask
    monkeypatch.delenv("REWARDS_STACK_NAME", raising=False)
    candidate = copy_of_bundled(tmp_path / "made", "ifgb-compare-candidate")
    history = _history(tmp_path / "history")

    # When it is compared against the bundled version on the history
    code = main(
        [
            "model",
            "compare",
            str(candidate),
            "--against",
            bundled_version(),
            "--history",
            str(history),
        ]
    )

    # Then each figure is printed for both, and the same decisions cost the same
    # (other suites' loggers may write JSON lines to the same stdout)
    out = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]
    assert code == 0
    assert bundled_version() in out[0] and candidate.name in out[0]
    rows = {line[:28].strip(): line[28:].split() for line in out[1:]}
    for figure in ("fraud money leaked", "legit friction (flagged)", "review load (referrals)"):
        active, challenger = rows[figure]
        assert active == challenger


def test_compare_needs_the_labels_beside_the_history(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("")

    code = main(["model", "compare", bundled_version(), "--history", str(tmp_path)])

    assert code == 1
