"""`rewards model list | promote VERSION | rollback | compare CANDIDATE`: the served model.

`list`, `promote` and `rollback` act on the local stack started from this checkout
(through its loopback control endpoint: the pointer lives in the stack's table), or on
AWS when `--table` is given or `REWARDS_STACK_NAME` names a deployed stack. A VERSION
that is a directory is copied into the local stack's models folder, or uploaded to the
stack's model bucket, before it is promoted. `compare` backtests two versions on one
labelled history and prints what each would have cost.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from shared.config import STACK_NAME_VARIABLE, deployed_stack_name

CONTROL_PATH = "/_local/model"


class NoStackError(RuntimeError):
    """No local stack answers and no AWS stack is named."""


# --- where the pointer lives ---------------------------------------------------------------


def _ask_local_stack(document: dict[str, Any]) -> dict[str, Any]:
    from shared.local.control_client import (
        LocalStackRefused,
        LocalStackUnavailable,
        ask_local_stack,
    )

    body = json.dumps(document).encode()
    try:
        answer = ask_local_stack(CONTROL_PATH, body, timeout=120, actor=getpass.getuser())
    except LocalStackRefused as exc:
        raise RuntimeError(str(exc)) from exc
    except LocalStackUnavailable as exc:
        raise NoStackError(str(exc)) from exc
    loaded: dict[str, Any] = json.loads(answer)
    return loaded


def _stack_resource(stack_name: str, logical_id: str) -> str:
    import boto3

    detail = boto3.client("cloudformation").describe_stack_resource(
        StackName=stack_name, LogicalResourceId=logical_id
    )["StackResourceDetail"]
    return str(detail["PhysicalResourceId"])


def _aws_target(args: argparse.Namespace) -> tuple[str, str | None] | None:
    """(table, bucket) on AWS, or None for the local stack."""
    stack_name = deployed_stack_name()
    if not args.table and not stack_name:
        return None
    table = args.table or _stack_resource(str(stack_name), "Table")
    bucket = args.bucket or (_stack_resource(stack_name, "ModelBucket") if stack_name else None)
    return table, bucket


def _aws_registry(table_name: str, bucket: str | None, models: Path) -> tuple[Any, Any]:
    import boto3

    from shared.adapters.model_store import DirectoryModelStore, S3ModelStore, SearchedModelStores
    from shared.bootstrap import model_registry
    from shared.clock import SystemClock
    from shared.storage.dynamo_table import DynamoTable

    uploads = S3ModelStore(bucket, boto3.client("s3")) if bucket else None
    stores: list[DirectoryModelStore | S3ModelStore] = [DirectoryModelStore(models)]
    if uploads is not None:
        stores.append(uploads)
    registry = model_registry(DynamoTable(table_name), SearchedModelStores(stores), SystemClock())
    return registry, uploads


def _aws_actor() -> str:
    import boto3

    return str(boto3.client("sts").get_caller_identity()["Arn"])


def _on_aws(args: argparse.Namespace, target: tuple[str, str | None]) -> dict[str, Any]:
    registry, uploads = _aws_registry(target[0], target[1], args.models)
    if args.model_command == "promote":
        version = args.version
        if Path(version).is_dir():
            if uploads is None:
                raise RuntimeError("uploading a version directory needs --bucket")
            version = uploads.publish(Path(version))
        registry.promote(version, _aws_actor())
    elif args.model_command == "rollback":
        registry.rollback(_aws_actor())
    return {
        "active": registry.active(),
        "history": registry.history(),
        "versions": registry.versions(),
    }


def _pointer_command(args: argparse.Namespace) -> dict[str, Any]:
    target = _aws_target(args)
    if target is not None:
        return _on_aws(args, target)
    document: dict[str, Any] = {"action": args.model_command}
    if args.model_command == "promote":
        path = Path(args.version)
        document.update(
            {"path": str(path.resolve())} if path.is_dir() else {"version": args.version}
        )
    return _ask_local_stack(document)


def _print_pointer(answer: dict[str, Any]) -> None:
    active = answer.get("active")
    print(f"active: {active or 'none (rules only)'}")
    history = answer.get("history") or []
    if len(history) > 1:
        print(f"rollback goes to: {history[1]} (then {', '.join(history[2:]) or 'nothing'})")
    for version in answer.get("versions") or []:
        print(f"{'*' if version == active else ' '} {version}")


def _run_pointer_command(args: argparse.Namespace) -> int:
    _print_pointer(_pointer_command(args))
    return 0


# --- compare -------------------------------------------------------------------------------

FIGURES = (
    ("fraud money leaked", "fraud_money_leaked_share", "share"),
    ("fraud left unpaid", "fraud_unpaid_share", "share"),
    ("legit friction (flagged)", "legit_flagged_share", "share"),
    ("review load (referrals)", "review_load", "count"),
    ("rejected (referrals)", "rejected", "count"),
    ("PR-AUC", "pr_auc", "number"),
)


def _version_dir(name: str, models: Path) -> Path:
    from shared.adapters.model_store import DirectoryModelStore

    path = Path(name)
    if path.is_dir():
        return path
    return DirectoryModelStore(models).directory(name)


def _active_version(args: argparse.Namespace) -> str:
    """The version the local stack or AWS serves; the bundled default if neither answers."""
    from shared.adapters.model_store import DirectoryModelStore

    try:
        active = _pointer_command(argparse.Namespace(**{**vars(args), "model_command": "list"}))
        if active.get("active"):
            return str(active["active"])
    except NoStackError:
        pass
    default = DirectoryModelStore(args.models).default_version()
    if default is None:
        raise RuntimeError(f"no active version and none in {args.models}; pass --against")
    return default


def backtest_figures(version_dir: Path, events: Path, labels: Path) -> dict[str, Any]:
    """What the version decides on the history: the `rewards evaluate` figures plus how many
    referrals it sends to a person and how many it rejects."""
    from shared.backtest.ops import read_ops
    from shared.backtest.replay import Backtest
    from shared.progress import progress
    from shared.scoring.serving import load_judge
    from shared.training.backtest_eval import evaluate

    ops = read_ops(events)
    desc = f"backtest {version_dir.name}"
    result = Backtest(load_judge(version_dir)).run(progress(ops, total=len(ops), desc=desc))
    with tempfile.TemporaryDirectory() as scratch:
        decisions = Path(scratch) / "decisions.jsonl"
        decisions.write_text("".join(json.dumps(line) + "\n" for line in result.lines))
        figures = evaluate(decisions, labels, events)
    decided = [(line.get("risk") or {}).get("decision") for line in result.lines]
    figures["review_load"] = decided.count("review")
    figures["rejected"] = decided.count("reject")
    return figures


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "share":
        return f"{float(value) * 100:.1f}%"
    return f"{value:g}" if kind == "number" else str(value)


def comparison_table(names: list[str], figures: list[dict[str, Any]]) -> list[str]:
    width = max(len(label) for label, _, _ in FIGURES) + 2
    columns = [max(len(name), 8) + 2 for name in names]
    lines = ["".ljust(width) + "".join(n.rjust(c) for n, c in zip(names, columns, strict=True))]
    for label, key, kind in FIGURES:
        cells = [_shown(f.get(key), kind).rjust(c) for f, c in zip(figures, columns, strict=True)]
        lines.append(label.ljust(width) + "".join(cells))
    return lines


def _compare(args: argparse.Namespace) -> int:
    events, labels = args.history / "events.jsonl", args.history / "labels.jsonl"
    for needed in (events, labels):
        if not needed.is_file():
            raise FileNotFoundError(f"no {needed.name} in {args.history}")
    against = args.against or _active_version(args)
    dirs = [_version_dir(against, args.models), _version_dir(args.candidate, args.models)]
    names = [f"{dirs[0].name} (active)", f"{dirs[1].name} (candidate)"]
    figures = []
    for directory in dirs:
        print(f"rewards model compare: backtesting {directory.name}", file=sys.stderr)
        figures.append(backtest_figures(directory, events, labels))
    print("\n".join(comparison_table(names, figures)))
    return 0


# --- the command line ----------------------------------------------------------------------


def _aws_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", default=None, help="act on this DynamoDB table (AWS)")
    parser.add_argument(
        "--bucket", default=None, help="the model bucket (AWS; default: the stack's)"
    )
    _models_option(parser)


def _models_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models", type=Path, default=Path("models"), help="bundled versions (default models/)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    model = subparsers.add_parser(
        "model",
        help="choose the fraud model version scoring serves",
        description=(
            "List, promote and roll back the served model version on the local stack or, "
            f"with --table or {STACK_NAME_VARIABLE}, on AWS; compare two versions on a history."
        ),
    )
    commands = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    listed = commands.add_parser("list", help="the active version, rollback order, all versions")
    _aws_options(listed)
    listed.set_defaults(func=_run_pointer_command)
    promote = commands.add_parser("promote", help="serve VERSION (a name, or a version directory)")
    promote.add_argument("version", metavar="VERSION")
    _aws_options(promote)
    promote.set_defaults(func=_run_pointer_command)
    rollback = commands.add_parser("rollback", help="serve the version the active one replaced")
    _aws_options(rollback)
    rollback.set_defaults(func=_run_pointer_command)
    compare = commands.add_parser(
        "compare",
        help="backtest two versions on one labelled history, side by side",
        description=(
            "Backtest CANDIDATE and ACTIVE (default: the version served now) on DIR/events.jsonl "
            "and score both against DIR/labels.jsonl: fraud money leaked, legit friction and "
            "review load side by side. Versions are names in --models or version directories."
        ),
    )
    compare.add_argument("candidate", metavar="CANDIDATE")
    compare.add_argument("--against", default=None, metavar="ACTIVE")
    compare.add_argument("--history", type=Path, required=True, metavar="DIR")
    _aws_options(compare)
    compare.set_defaults(func=_compare)
