"""The template's resources, created by moto's CloudFormation from template.yaml itself.

Everything the rest of the local stack knows about resources (names, URLs, environment
variables, event-source mappings) is read back from the created stack, so the template
stays the only list of resources.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import os
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from samtranslator.translator.transform import transform

from shared.local.template import FunctionSource, serverless_functions

logger = logging.getLogger(__name__)

REGION = "us-east-1"
STACK_NAME = "rewards"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# Every poller thread keeps a long poll open on the shared SQS client.
_CLIENT_CONFIG = Config(max_pool_connections=50)
_ZIP_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache"}


class DeployError(RuntimeError):
    """The template could not be turned into a stack on moto."""


class MotoServer:
    """moto in a child process (shared/local/moto_process.py), on a free port of 127.0.0.1."""

    def __init__(self, start_timeout_s: float = 60.0) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._start_timeout_s = start_timeout_s
        self.endpoint = ""

    def start(self) -> str:
        # The SAM transform (in this process) warns that it has metrics nobody publishes.
        logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
        environment = {**os.environ, "PYTHONPATH": _import_root(os.environ.get("PYTHONPATH"))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "shared.local.moto_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        line = _first_line(self._process, self._start_timeout_s)
        try:
            self.endpoint = str(json.loads(line)["endpoint"])
        except (ValueError, KeyError, TypeError):
            self.stop()
            raise DeployError(f"moto did not start (it printed {line!r})") from None
        return self.endpoint

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _import_root(existing: str | None) -> str:
    """PYTHONPATH for the child, so it imports the same `shared` as this process."""
    root = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join([root, *([existing] if existing else [])])


def _first_line(process: subprocess.Popen[bytes], timeout_s: float) -> str:
    assert process.stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    return lines[0].decode(errors="replace").strip() if lines else ""


class Aws:
    """boto3 clients bound to the moto endpoint, one per service, shared by all threads.

    Clients are thread-safe once built, but sessions are not and building a client is
    costly, so clients are built once, under a lock.
    """

    def __init__(self, endpoint: str, region: str = REGION) -> None:
        self.endpoint = endpoint
        self.region = region
        self._session = boto3.session.Session(region_name=region, **DUMMY_CREDENTIALS)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.endpoint, config=_CLIENT_CONFIG
                )
            return self._clients[service]


@dataclass(frozen=True)
class DeployedFunction:
    logical_id: str
    name: str
    arn: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int


@dataclass(frozen=True)
class QueueMapping:
    """An SQS event-source mapping's settings, read before it was disabled."""

    uuid: str
    function: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool
    batching_window_s: int
    maximum_concurrency: int | None


@dataclass
class DeployedStack:
    name: str
    region: str
    account_id: str
    resources: dict[str, tuple[str, str]] = field(default_factory=dict)
    functions: dict[str, DeployedFunction] = field(default_factory=dict)
    mappings: list[QueueMapping] = field(default_factory=list)

    def physical_id(self, logical_id: str) -> str:
        try:
            return self.resources[logical_id][1]
        except KeyError:
            raise KeyError(f"the stack has no resource {logical_id!r}") from None

    def physical_ids_of_type(self, resource_type: str) -> dict[str, str]:
        return {
            logical_id: physical
            for logical_id, (kind, physical) in self.resources.items()
            if kind == resource_type
        }


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not _ZIP_SKIP.intersection(path.relative_to(directory).parts):
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "README.txt", "Layer placeholder: the local stack imports from the checkout."
        )
    return buffer.getvalue()


class _NoManagedPolicies:
    """samtranslator's bundled map already knows AWS managed policies; never ask IAM."""

    def load(self) -> dict[str, str]:
        return {}


def _upload_code(
    aws: Aws, stack_name: str, template: dict[str, Any], sources: dict[str, FunctionSource]
) -> dict[str, Any]:
    s3 = aws.client("s3")
    bucket = f"{stack_name}-artifacts"
    # An earlier stack of the same name in this process may have left it behind.
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)
    packaged = copy.deepcopy(template)
    for logical_id in serverless_functions(packaged):
        key = f"functions/{logical_id}.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=_zip_directory(sources[logical_id].code_dir))
        packaged["Resources"][logical_id].setdefault("Properties", {})["CodeUri"] = (
            f"s3://{bucket}/{key}"
        )
    for logical_id, resource in packaged["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::LayerVersion":
            # Layers are never executed locally: the handlers import `shared` from the checkout.
            key = f"layers/{logical_id}.zip"
            s3.put_object(Bucket=bucket, Key=key, Body=_placeholder_zip())
            resource.setdefault("Properties", {})["ContentUri"] = f"s3://{bucket}/{key}"
    return packaged


def _free_stack_name(aws: Aws) -> str:
    """`rewards`, unless this process already created a stack by that name.

    moto keeps its resources in process-wide backends; each stack starts its own moto
    process, but a name already taken on that server still gets the next free one.
    """
    paginator = aws.client("cloudformation").get_paginator("list_stacks")
    taken = {
        summary["StackName"]
        for page in paginator.paginate()
        for summary in page["StackSummaries"]
        if summary["StackStatus"] != "DELETE_COMPLETE"
    }
    name, number = STACK_NAME, 1
    while name in taken:
        number += 1
        name = f"{STACK_NAME}-{number}"
    return name


def _create_stack(aws: Aws, stack_name: str, cloudformation_template: dict[str, Any]) -> None:
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(cloudformation_template),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    waiter = cloudformation.get_waiter("stack_create_complete")
    try:
        waiter.wait(StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    except Exception as exc:
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
        reasons = [e.get("ResourceStatusReason") for e in events if e.get("ResourceStatusReason")]
        raise DeployError(f"creating the stack on moto failed: {reasons or exc}") from exc


def _read_functions(aws: Aws, stack: DeployedStack) -> None:
    lambda_client = aws.client("lambda")
    for logical_id, name in stack.physical_ids_of_type("AWS::Lambda::Function").items():
        config = lambda_client.get_function_configuration(FunctionName=name)
        stack.functions[logical_id] = DeployedFunction(
            logical_id=logical_id,
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            environment=dict((config.get("Environment") or {}).get("Variables") or {}),
            timeout_s=int(config.get("Timeout") or 3),
            memory_mb=int(config.get("MemorySize") or 128),
        )


def _take_over_queue_mappings(aws: Aws, stack: DeployedStack) -> None:
    """Record each SQS mapping's settings, then disable it.

    While a mapping is enabled moto receives from its queue itself, fails to invoke the
    function (no Docker) and so pushes every message towards the DLQ unprocessed; the
    local pollers consume those queues instead.
    """
    lambda_client = aws.client("lambda")
    sqs = aws.client("sqs")
    by_name = {f.name: f.logical_id for f in stack.functions.values()}
    paginator = lambda_client.get_paginator("list_event_source_mappings")
    for page in paginator.paginate():
        for mapping in page["EventSourceMappings"]:
            source_arn = mapping.get("EventSourceArn", "")
            function_name = mapping["FunctionArn"].split(":")[6]
            if not source_arn.startswith("arn:aws:sqs:") or function_name not in by_name:
                continue
            lambda_client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
            queue_name = source_arn.rsplit(":", 1)[1]
            stack.mappings.append(
                QueueMapping(
                    uuid=mapping["UUID"],
                    function=by_name[function_name],
                    queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                    queue_arn=source_arn,
                    batch_size=int(mapping.get("BatchSize") or 10),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (mapping.get("FunctionResponseTypes") or []),
                    batching_window_s=int(mapping.get("MaximumBatchingWindowInSeconds") or 0),
                    maximum_concurrency=(mapping.get("ScalingConfig") or {}).get(
                        "MaximumConcurrency"
                    ),
                )
            )


def deploy(aws: Aws, template: dict[str, Any], sources: dict[str, FunctionSource]) -> DeployedStack:
    """Package, transform and create the stack; take over its queue mappings."""
    stack_name = _free_stack_name(aws)
    packaged = _upload_code(aws, stack_name, template, sources)
    try:
        cloudformation_template = transform(packaged, {}, _NoManagedPolicies())
    except Exception as exc:
        raise DeployError(f"the SAM transform rejected the template: {exc}") from exc
    _create_stack(aws, stack_name, cloudformation_template)

    described = aws.client("cloudformation").describe_stack_resources(StackName=stack_name)
    account_id = aws.client("sts").get_caller_identity()["Account"]
    stack = DeployedStack(name=stack_name, region=aws.region, account_id=account_id)
    for resource in described["StackResources"]:
        if "LogicalResourceId" in resource and resource.get("PhysicalResourceId"):
            stack.resources[resource["LogicalResourceId"]] = (
                resource["ResourceType"],
                resource["PhysicalResourceId"],
            )
    _read_functions(aws, stack)
    _take_over_queue_mappings(aws, stack)
    return stack


def delete(aws: Aws, stack: DeployedStack) -> None:
    """Free the stack's resources in moto's process-wide backends."""
    try:
        aws.client("cloudformation").delete_stack(StackName=stack.name)
    except Exception:
        logger.warning("could not delete stack %s from moto", stack.name, exc_info=True)
