"""The scheduled jobs as CLI commands: run one now, on the local stack or on AWS."""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.config import STACK_NAME_VARIABLE, deployed_stack_name
from shared.local.discovery import discovery_path, read_discovery
from shared.local.scheduled_events import format_instant, parse_instant, scheduled_event

JOBS = {
    "release": "ReleaseFunction",
    "rescore": "RescoreFunction",
    "reconcile": "ReconcileFunction",
    "expire-reviews": "ExpireReviewsFunction",
}
# A job may legitimately run for as long as Lambda allows.
JOB_TIMEOUT_S = 900


class UnknownJobError(LookupError):
    """No such job, or its function is not in the template."""


class JobFailedError(RuntimeError):
    """The job could not be run, or its function failed; the message says which."""


def function_for_job(job: str) -> str:
    try:
        return JOBS[job]
    except KeyError:
        raise UnknownJobError(f"unknown job {job!r}; jobs are {', '.join(JOBS)}") from None


def run_local_job(job: str, now: datetime | None = None, root: Path | None = None) -> Any:
    """Run `job` on the stack started from this checkout, through its control endpoint."""
    from shared.local.dev_tokens import mint_token

    function_for_job(job)
    info = read_discovery(root)
    if info is None:
        raise JobFailedError(
            f"no local stack is running ({discovery_path(root)} not found); "
            "start one with `rewards serve`"
        )
    url = f"{info['url']}/_local/jobs/{job}"
    payload = {} if now is None else {"now": format_instant(now)}
    token = mint_token(["admin"], "local-cli", ttl_hours=1, root=root)
    request = urllib.request.Request(  # noqa: S310 - http to our own loopback stack
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        # Only http to our own loopback stack reaches urlopen.
        with urllib.request.urlopen(request, timeout=JOB_TIMEOUT_S) as response:  # noqa: S310  # nosec B310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise JobFailedError(f"{job} failed: {_problem_detail(exc)}") from exc
    except (urllib.error.URLError, ConnectionError) as exc:
        raise JobFailedError(
            f"no local stack answers at {info['url']} (stale {discovery_path(root)} from "
            f"pid {info.get('pid')}?); start one with `rewards serve`"
        ) from exc


def _problem_detail(error: urllib.error.HTTPError) -> str:
    body = error.read()
    try:
        problem = json.loads(body)
        return str(problem.get("detail") or problem.get("title") or error.reason)
    except (ValueError, AttributeError):
        return f"HTTP {error.code} {body[:200]!r}"


def run_aws_job(
    job: str,
    stack_name: str,
    cloudformation: Any = None,
    lambda_client: Any = None,
) -> Any:
    """Invoke the job's function in the deployed stack synchronously, at the current time."""
    import boto3

    function = function_for_job(job)
    cloudformation = cloudformation or boto3.client("cloudformation")
    lambda_client = lambda_client or boto3.client("lambda")
    resource = cloudformation.describe_stack_resource(
        StackName=stack_name, LogicalResourceId=function
    )["StackResourceDetail"]
    name = resource["PhysicalResourceId"]
    arn = lambda_client.get_function_configuration(FunctionName=name)["FunctionArn"]
    _, _, _, region, account_id, *_ = arn.split(":")
    event = scheduled_event(
        datetime.now(UTC),
        account_id,
        region,
        [f"arn:aws:events:{region}:{account_id}:rule/{stack_name}-manual-{job}"],
    )
    response = lambda_client.invoke(
        FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
    )
    body = response["Payload"].read()
    result = json.loads(body) if body else None
    if response.get("FunctionError"):
        message = result.get("errorMessage") if isinstance(result, dict) else result
        raise JobFailedError(f"{job} failed in {name}: {message}")
    return result


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _run(args: argparse.Namespace) -> int:
    stack_name = deployed_stack_name()
    if stack_name:
        if args.now is not None:
            # Acting "in the future" on real data would release holds early.
            raise JobFailedError(
                "--now is for the local stack; on AWS a job runs at the current time"
            )
        result = run_aws_job(args.job, stack_name)
    else:
        result = run_local_job(args.job, args.now)
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    for job, function in JOBS.items():
        parser = subparsers.add_parser(
            job,
            help=f"run the {job} job once ({function})",
            description=(
                f"Run the {job} job ({function}) once and wait for it. Acts on the local stack "
                f"started from this checkout, or on AWS when {STACK_NAME_VARIABLE} is set."
            ),
        )
        parser.add_argument(
            "--now",
            type=_instant,
            default=None,
            help="act as if it were this time (ISO 8601 with Z; local stack only)",
        )
        parser.set_defaults(func=_run, job=job)
