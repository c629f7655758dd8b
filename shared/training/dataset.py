"""Training rows from a labelled history, computed by the serving feature extractor.

The history is replayed through the backtest (the same services as live traffic, rules
only), and each qualified referral's features are read as of the end of its holding
period (or the end of the history): the last moment a re-score can still stop a payout,
so the model learns from the evidence it will actually have when it matters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np

from shared.backtest.ops import Op, read_ops
from shared.backtest.replay import Backtest
from shared.repositories.programs import ProgramRepository
from shared.repositories.referrals import ReferralRepository
from shared.scoring.feature_spec import FEATURE_NAMES
from shared.scoring.features import FeatureExtractor


@dataclass(frozen=True)
class Dataset:
    features: np.ndarray
    labels: list[str]
    patterns: list[str]
    sha256: str


def file_sha256(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_dataset(ops: Sequence[Op], labels: Sequence[dict[str, str]], sha256: str) -> Dataset:
    backtest = Backtest(None)
    backtest.run(ops)
    end = max(op.at for op in ops)
    by_referee = {(entry["program"], entry["referee"]): entry for entry in labels}
    referrals = ReferralRepository(backtest.table)
    programs = ProgramRepository(backtest.table)
    extractor = FeatureExtractor(backtest.table, backtest.hasher)
    rows, ys, patterns = [], [], []
    for op in ops:
        if op.op != "referral" or op.program is None:
            continue
        referee = str((op.body or {}).get("referee", {}).get("customer_id", ""))
        entry = by_referee.get((op.program, referee))
        referral_id = backtest.referral_id_of(op.program, referee)
        if entry is None or referral_id is None:
            continue
        referral = referrals.get(referral_id)
        if referral is None or referral.qualified_at is None:
            continue
        program = programs.get(referral.program_id)
        holding = timedelta(days=program.holding_period_days if program else 14)
        as_of = min(referral.qualified_at + holding, end)
        values = extractor.extract(referral_id, as_of, referral).values
        rows.append([float(values[name]) for name in FEATURE_NAMES])
        ys.append(entry["label"])
        patterns.append(entry["pattern"])
    return Dataset(np.asarray(rows, dtype=np.float64), ys, patterns, sha256)


def dataset_from_files(events: Path, labels: Path) -> Dataset:
    import json

    label_rows = [json.loads(line) for line in labels.read_text().splitlines() if line.strip()]
    return build_dataset(read_ops(events), label_rows, file_sha256(events, labels))
