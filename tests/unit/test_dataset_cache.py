"""A history's training rows are replayed once, then read back while nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shared.training import dataset
from shared.training.generator import generate, write_jsonl


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    lines, labels = generate(seed=11, n_programs=1, n_advocates=40, days=20)
    root = tmp_path_factory.mktemp("history")
    write_jsonl(root / "events.jsonl", lines)
    write_jsonl(root / "labels.jsonl", labels)
    return root / "events.jsonl", root / "labels.jsonl"


def _counting_replays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = dataset.build_dataset

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dataset, "build_dataset", counted)
    return calls


def test_a_second_training_on_the_same_history_reads_the_cached_rows(
    history: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a history whose rows were computed once into a cache
    events, labels = history
    replays = _counting_replays(monkeypatch)
    first = dataset.dataset_from_files(events, labels, tmp_path)
    # When the same files are asked for again
    second = dataset.dataset_from_files(events, labels, tmp_path)
    # Then the history is not replayed again, and the rows are the same
    assert len(replays) == 1
    assert np.array_equal(first.features, second.features)
    assert (first.labels, first.patterns, first.sha256) == (
        second.labels,
        second.patterns,
        second.sha256,
    )


def test_changed_labels_replay_the_history_again(
    history: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given cached rows for a history
    events, labels = history
    dataset.dataset_from_files(events, labels, tmp_path)
    replays = _counting_replays(monkeypatch)
    # When one label changes
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    rows[0]["label"] = "fraud" if rows[0]["label"] == "legit" else "legit"
    changed = tmp_path / "changed.labels.jsonl"
    write_jsonl(changed, rows)
    relabelled = dataset.dataset_from_files(events, changed, tmp_path)
    # Then the rows are computed afresh and carry the new label
    assert len(replays) == 1
    assert rows[0]["label"] in relabelled.labels


def test_changed_code_does_not_read_rows_another_version_computed(
    history: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given cached rows for a history
    events, labels = history
    dataset.dataset_from_files(events, labels, tmp_path)
    replays = _counting_replays(monkeypatch)
    # When the code that computes rows changes
    monkeypatch.setattr(dataset, "code_fingerprint", lambda: "another-version" * 4)
    dataset.dataset_from_files(events, labels, tmp_path)
    # Then the history is replayed again
    assert len(replays) == 1
