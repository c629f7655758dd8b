"""`make eval-generalization`: how the training recipe holds on traffic it has never seen.

Every generator under `generators/` was written on its own, with its own conventions and at
least one fraud tactic and one legit behaviour the others lack; none shares code with
another or with the scoring and training code (an import contract checks it). For each
generator in turn, the shipped recipe (`rewards train`) is applied to the *other*
generators' histories and the model is judged end to end (`rewards backtest`, then
`rewards evaluate`) on a fresh history of the one left out. The figure claimed is the
worst held-out generator, never the average and never one the model was fit on.

A second row per generator trains on one of its histories and evaluates on another: what
a merchant training on its own history would see.

Generators run as their own processes (`python -m generators.<name>`), so nothing here
imports them.
"""

from __future__ import annotations

import argparse
import json
import operator
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.progress import progress

ROOT = Path(__file__).resolve().parents[2]
TRAIN_SEED, EVAL_SEED = 1, 2
# Two cores: two replays at a time keep both busy.
WORKERS = 2

Target = tuple[Callable[[float, float], bool], float]
AT_LEAST, AT_MOST = operator.ge, operator.le
HELD_OUT_TARGETS: dict[str, Target] = {
    "roc_auc": (AT_LEAST, 0.95),
    "recall_at_1pct_fpr": (AT_LEAST, 0.75),
    "fraud_unpaid_share": (AT_LEAST, 0.90),
    "fraud_money_leaked_share": (AT_MOST, 0.10),
    "legit_flagged_share": (AT_MOST, 0.02),
}
SAME_GENERATOR_TARGETS: dict[str, Target] = {
    "roc_auc": (AT_LEAST, 0.975),
    "recall_at_1pct_fpr": (AT_LEAST, 0.85),
    "fraud_unpaid_share": (AT_LEAST, 0.95),
    "fraud_money_leaked_share": (AT_MOST, 0.04),
    "legit_flagged_share": (AT_MOST, 0.02),
}
# No single legit behaviour may carry much more than its share of friction.
BEHAVIOUR_FRICTION = 0.04


@dataclass(frozen=True)
class History:
    generator: str
    seed: int
    events: Path
    labels: Path


@dataclass(frozen=True)
class Fold:
    """One model (fit on `trained_on`) judged on one generator's fresh history."""

    kind: str  # held_out | same_generator
    evaluated_on: str
    trained_on: tuple[str, ...]


def generators(root: Path = ROOT) -> list[str]:
    """Every generator package under `generators/` (a directory with `__main__.py`)."""
    return sorted(p.parent.name for p in (root / "generators").glob("*/__main__.py"))


def folds(names: Sequence[str]) -> list[Fold]:
    """Same-generator folds first: each replays one training history once, and the cached
    rows (`--dataset-cache`) then serve the held-out folds, which train on two."""
    held_out = [Fold("held_out", g, tuple(n for n in names if n != g)) for g in names]
    return [Fold("same_generator", g, (g,)) for g in names] + held_out


def _run(command: list[str], log: Path) -> None:
    with log.open("w") as handle:
        done = subprocess.run(  # noqa: S603 - our own interpreter and modules
            command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:5])}... failed; see {log}")


def _rewards(*args: str) -> list[str]:
    return [sys.executable, "-m", "shared.cli", *args]


def generate(name: str, seed: int, work: Path) -> History:
    events, labels = work / f"{name}-{seed}.jsonl", work / f"{name}-{seed}.labels.jsonl"
    command = [sys.executable, "-m", f"generators.{name}", "--seed", str(seed)]
    _run([*command, "--out", str(events), "--labels", str(labels)], work / f"{name}-{seed}.log")
    return History(name, seed, events, labels)


def judge(fold: Fold, train: dict[str, History], fresh: History, work: Path) -> dict[str, Any]:
    """Train on `fold.trained_on`, replay the fresh history with that model, evaluate."""
    tag = f"{fold.kind}-{fold.evaluated_on}"
    models = work / f"models-{tag}"
    data = [arg for g in fold.trained_on for arg in ("--data", str(train[g].events))]
    labels = [arg for g in fold.trained_on for arg in ("--labels", str(train[g].labels))]
    started = time.monotonic()
    cache = ["--dataset-cache", str(work / "datasets")]
    _run(_rewards("train", *data, *labels, *cache, "--out", str(models)), work / f"{tag}.train.log")
    decisions = work / f"{tag}.decisions.jsonl"
    backtest = _rewards("backtest", str(fresh.events), "--models", str(models))
    _run([*backtest, "--out", str(decisions)], work / f"{tag}.backtest.log")
    evaluation = work / f"{tag}.evaluation.json"
    evaluate = _rewards("evaluate", str(decisions), str(fresh.labels), str(fresh.events))
    with evaluation.open("w") as handle:
        subprocess.run(evaluate, cwd=ROOT, stdout=handle, check=True)  # noqa: S603
    figures = json.loads(evaluation.read_text())
    return {
        "kind": fold.kind,
        "evaluated_on": fold.evaluated_on,
        "trained_on": list(fold.trained_on),
        "seconds": round(time.monotonic() - started),
        **figures,
    }


def verdict(row: dict[str, Any]) -> dict[str, bool]:
    targets = HELD_OUT_TARGETS if row["kind"] == "held_out" else SAME_GENERATOR_TARGETS
    met = {
        name: row.get(name) is not None and compare(row[name], goal)
        for name, (compare, goal) in targets.items()
    }
    behaviours = [p for p in row.get("patterns", {}).values() if p["label"] == "legit"]
    met["every_behaviour_friction"] = all(
        p["flagged_share"] <= BEHAVIOUR_FRICTION for p in behaviours
    )
    return met


def worst(rows: Sequence[dict[str, Any]], kind: str) -> dict[str, Any]:
    """Per figure, the worst value over the generators of `kind` (never an average)."""
    chosen = [r for r in rows if r["kind"] == kind]
    targets = HELD_OUT_TARGETS if kind == "held_out" else SAME_GENERATOR_TARGETS
    out: dict[str, Any] = {}
    for name, (compare, _) in targets.items():
        values = [(r[name], r["evaluated_on"]) for r in chosen if r.get(name) is not None]
        if values:
            pick = min if compare is AT_LEAST else max
            value, where = pick(values)
            out[name] = {"value": value, "generator": where}
    return out


COLUMNS = (
    ("roc_auc", "ROC"),
    ("pr_auc", "PR"),
    ("recall_at_1pct_fpr", "rec@1%"),
    ("fraud_unpaid_share", "unpaid"),
    ("fraud_money_leaked_share", "leaked"),
    ("legit_flagged_share", "friction"),
)


def print_matrix(rows: Sequence[dict[str, Any]]) -> None:
    header = f"{'evaluated on':<14} {'trained on':<28}" + "".join(f"{t:>9}" for _, t in COLUMNS)
    print(header + "   targets")
    for row in rows:
        cells = "".join(
            f"{row[k]:>9.4f}" if row.get(k) is not None else f"{'-':>9}" for k, _ in COLUMNS
        )
        missed = [name for name, ok in verdict(row).items() if not ok]
        note = "met" if not missed else "missed: " + ", ".join(missed)
        print(f"{row['evaluated_on']:<14} {'+'.join(row['trained_on']):<28}{cells}   {note}")
    for kind in ("held_out", "same_generator"):
        print(f"worst {kind.replace('_', ' ')}: {json.dumps(worst(rows, kind))}")
    print("\nper pattern (held-out models; fraud: share unpaid, legit: share flagged)")
    for row in rows:
        if row["kind"] != "held_out":
            continue
        for name, p in row.get("patterns", {}).items():
            share = p.get("unpaid_share", p.get("flagged_share"))
            where = f"{row['evaluated_on']:<12} {p['label']:<6} {name:<28}"
            print(f"  {where} {share:>7.4f}  n={p['referrals']}")


def run(work: Path, names: Sequence[str]) -> list[dict[str, Any]]:
    if len(names) < 3:
        raise ValueError(f"a generalization test needs at least three generators, found {names}")
    work.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(WORKERS) as pool:
        jobs = [(n, s) for n in names for s in (TRAIN_SEED, EVAL_SEED)]
        made = list(
            progress(
                pool.map(lambda job: generate(job[0], job[1], work), jobs),
                total=len(jobs),
                desc="generating histories",
                unit="histories",
            )
        )
        train = {h.generator: h for h in made if h.seed == TRAIN_SEED}
        fresh = {h.generator: h for h in made if h.seed == EVAL_SEED}
        plan = folds(names)
        return list(
            progress(
                pool.map(lambda f: judge(f, train, fresh[f.evaluated_on], work), plan),
                total=len(plan),
                desc="train, backtest, evaluate",
                unit="models",
            )
        )


def train_shipped(work: Path, names: Sequence[str], models: Path) -> str:
    """The shipped default model: the same recipe applied to every generator's training
    history (the histories the held-out folds train on), nothing held out."""
    work.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(WORKERS) as pool:
        made = list(pool.map(lambda name: generate(name, TRAIN_SEED, work), names))
    data = [arg for h in made for arg in ("--data", str(h.events))]
    labels = [arg for h in made for arg in ("--labels", str(h.labels))]
    cache = ["--dataset-cache", str(work / "datasets")]
    log = work / "shipped.train.log"
    _run(_rewards("train", *data, *labels, *cache, "--out", str(models)), log)
    version = (models / "CURRENT").read_text().strip()
    print(f"shipped model {version} trained on {', '.join(names)} (log: {log})")
    return version


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make eval-generalization", description=__doc__)
    parser.add_argument("--work", type=Path, default=ROOT / ".eval" / "generalization")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "generalization.json")
    parser.add_argument(
        "--shipped-model",
        metavar="MODELS",
        type=Path,
        default=None,
        help="instead of the matrix, train the shipped default model on every generator "
        "into MODELS (`make train`)",
    )
    args = parser.parse_args(argv)
    names = generators()
    if args.shipped_model is not None:
        train_shipped(args.work, names, args.shipped_model)
        return 0
    rows = run(args.work, names)
    print_matrix(rows)
    summary = {
        "generators": names,
        "rows": rows,
        "worst_held_out": worst(rows, "held_out"),
        "worst_same_generator": worst(rows, "same_generator"),
        "met": all(all(verdict(r).values()) for r in rows),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten to {args.out} (work files in {args.work})")
    return 0 if summary["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
