"""LocalStack: the whole local runtime (moto resources, gateway, pollers, scheduler) as
one object with start/stop, for `rewards serve` and for tests."""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from shared import wiring
from shared.local import dev_tokens, state
from shared.local.discovery import remove_discovery, write_discovery
from shared.local.embedded_table import (
    STATE_FILENAME,
    TABLE_LOGICAL_ID,
    EmbeddedTable,
    TableSchemaMismatch,
    check_schema,
)
from shared.local.gateway import Gateway
from shared.local.handlers import (
    LocalFunction,
    check_handler_files,
    load_functions,
    unload_functions,
)
from shared.local.jobs import UnknownJobError, function_for_job
from shared.local.model_control import MODELS_DIRNAME, LocalModelControl
from shared.local.moto_stack import (
    DUMMY_CREDENTIALS,
    REGION,
    Aws,
    DeployedStack,
    MotoServer,
    deploy,
)
from shared.local.moto_stack import delete as delete_stack
from shared.local.paths import load_or_create_secret, runtime_dir
from shared.local.pollers import QueuePollers
from shared.local.scheduled_events import scheduled_event
from shared.local.scheduler import ScheduledTarget, Scheduler, parse_schedule
from shared.local.template import (
    ScheduleSource,
    function_sources,
    http_routes,
    load_template,
    parameter_default,
    schedules,
)

logger = logging.getLogger(__name__)

ENGINES = ("embedded", "moto")

PII_KEY_FILENAME = "pii-key"
PII_PARAMETER = "PiiKeyParameterName"
# Environment variables the functions must not override: they point boto3 at moto.
_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
    "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # Powertools reads this as "running under a local emulator" and skips X-Ray.
    "AWS_SAM_LOCAL": "true",
}
_AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# Merchant webhooks locally: a receiver on this machine (plain http://127.0.0.1:<port>)
# may be the target, and a failed attempt is retried after seconds, not hours, so retries
# and the dead-letter queue are observable (as the pollers' FAILURE_BACKOFF_S does for
# the other queues). Four attempts, one second apart.
LOCAL_WEBHOOK_ENVIRONMENT = {
    "WEBHOOK_ALLOW_LOOPBACK_HTTP": "true",
    "WEBHOOK_RETRY_DELAYS": "1,1,1",
}


class LocalStackError(RuntimeError):
    """The local stack could not start; the message says what to fix."""


def merged_environment(stack: DeployedStack, overrides: dict[str, str]) -> dict[str, str]:
    """All functions' environment variables as one mapping, since they share a process."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for function in sorted(stack.functions.values(), key=lambda f: f.logical_id):
        for name, value in function.environment.items():
            if name in overrides:
                continue
            if name in merged and merged[name] != value:
                raise LocalStackError(
                    f"{owner[name]} and {function.logical_id} set {name} differently "
                    f"({merged[name]!r} vs {value!r}); functions share one process locally"
                )
            merged[name] = value
            owner.setdefault(name, function.logical_id)
    return {**merged, **overrides}


def _warm_up_default_boto3_session() -> None:
    """Create boto3's default session, and a client of each kind, on this thread.

    Handlers build their clients lazily; on Lambda one invocation runs at a time, but here
    the gateway and pollers call them concurrently, and boto3's first default-session
    client creation is not thread-safe.
    """
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    for service in ("dynamodb", "sqs", "ssm"):
        boto3.client(service)
    boto3.resource("dynamodb")


class LocalStack:
    """The template running locally. `port=0` picks a free port; `state_dir` keeps table
    items and queued messages across restarts (without it, every start is empty).

    `engine="embedded"` (the default) serves the template's table from one in-process
    engine every function shares; `engine="moto"` uses DynamoDB on moto like everything else.

        with LocalStack(repo_root, port=0) as stack:
            requests.get(f"{stack.url}/v1/openapi.json")
            stack.drain()                      # queues empty, no invocation running
            stack.run_job("release", now)      # a scheduled function, once, at `now`
    """

    def __init__(
        self,
        root: Path,
        port: int = 3000,
        state_dir: Path | None = None,
        engine: str = "embedded",
    ) -> None:
        if engine not in ENGINES:
            raise LocalStackError(f"unknown table engine {engine!r}; engines are {ENGINES}")
        self.engine = engine
        self.table: EmbeddedTable | None = None
        self.root = Path(root).resolve()
        self.port = port
        self.state_dir = Path(state_dir).resolve() if state_dir else None
        self.moto_endpoint = ""
        self.stack: DeployedStack | None = None
        self.functions: dict[str, LocalFunction] = {}
        self._moto: MotoServer | None = None
        self._aws: Aws | None = None
        self._gateway: Gateway | None = None
        self._pollers: QueuePollers | None = None
        self._scheduler: Scheduler | None = None
        self._saved_environment: dict[str, str | None] = {}
        self._discovery: dict[str, Any] | None = None
        self._replaced_discovery: dict[str, Any] | None = None
        self._job_lock = threading.Lock()
        self._schedule_sources: dict[str, ScheduleSource] = {}
        self._started = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # Lifecycle

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        try:
            self._start()
        except BaseException:
            self._stop(save=False)
            raise

    def _start(self) -> None:
        template = load_template(self.root / "template.yaml")
        if self.engine == "embedded":
            try:
                check_schema(template, TABLE_LOGICAL_ID)
            except TableSchemaMismatch as exc:
                raise LocalStackError(str(exc)) from exc
        sources = function_sources(template, self.root)
        check_handler_files(sources, self.root)
        routes = http_routes(template)
        dev_tokens.signing_secret(self.root)
        pii_key = load_or_create_secret(runtime_dir(self.root) / PII_KEY_FILENAME)

        self._gateway = Gateway(routes, lambda token: dev_tokens.verify_token(token, self.root))
        try:
            self.port = self._gateway.bind(self.port)
        except OSError as exc:
            raise LocalStackError(
                f"cannot listen on 127.0.0.1:{self.port} ({exc.strerror}); is another "
                f"`rewards serve` running? (see {runtime_dir(self.root) / 'stack.json'})"
            ) from exc

        self._moto = MotoServer()
        self.moto_endpoint = self._moto.start()
        self._aws = Aws(self.moto_endpoint)
        self._set_environment({**_AWS_ENVIRONMENT, "AWS_ENDPOINT_URL": self.moto_endpoint})
        self.stack = deploy(self._aws, template, sources)
        self._put_pii_key(template, pii_key)
        self._set_environment(
            merged_environment(
                self.stack, {**self._model_environment(), **LOCAL_WEBHOOK_ENVIRONMENT}
            )
        )
        if self.engine == "embedded":
            self.table = EmbeddedTable()
            wiring.install(table=self.table)
        if self.state_dir is not None:
            self._load_state()

        _warm_up_default_boto3_session()
        self.functions = load_functions(sources, self.stack.functions, self.root)
        self._pollers = QueuePollers(self._aws, self.stack.mappings, self.invoke)
        self._pollers.start()
        found = schedules(template)
        self._schedule_sources = {s.function: s for s in reversed(found)}
        self._scheduler = Scheduler(self._schedule_targets(found), self._invoke_job)
        self._scheduler.start()
        self._serve_http()

        self._discovery = {
            "pid": os.getpid(),
            "url": self.url,
            "port": self.port,
            "moto_endpoint": self.moto_endpoint,
            "engine": self.engine,
            "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self._replaced_discovery = write_discovery(self.root, self._discovery)
        logger.info("local stack ready at %s (moto at %s)", self.url, self.moto_endpoint)

    def stop(self) -> None:
        if self._started:
            self._stop(save=True)

    def _stop(self, save: bool) -> None:
        self._started = False
        if self._pollers is not None:
            self._pollers.request_stop()
        if self._scheduler is not None:
            self._scheduler.stop()
        if self._gateway is not None:
            self._gateway.stop()
        if self._pollers is not None:
            self._pollers.stop()
        try:
            if save and self.state_dir is not None and self.stack is not None:
                self._save_state()
        finally:
            if self._aws is not None and self.stack is not None:
                delete_stack(self._aws, self.stack)
            if self._moto is not None:
                self._moto.stop()
            if self._discovery is not None:
                remove_discovery(self.root, self._discovery, self._replaced_discovery)
            unload_functions(self.functions)
            self._restore_environment()
            # Adapters built for this stack point at its moto server and engine.
            wiring.reset()
            self.table = None
            self._scheduler = self._gateway = self._pollers = self._moto = self._aws = None
            self.stack = None
            self._discovery = None
            self.functions = {}

    # Running functions

    def invoke(self, logical_id: str, event: Any) -> Any:
        try:
            function = self.functions[logical_id]
        except KeyError:
            raise KeyError(f"the stack has no function {logical_id!r}") from None
        return function.invoke(event)

    def run_job(self, job: str, now: datetime) -> Any:
        """Run a scheduled job's function once at `now` and return its result as JSON data."""
        function = function_for_job(job)
        if not self._started:
            raise RuntimeError("the stack is not running")
        if function not in self.functions:
            raise UnknownJobError(
                f"job {job!r} runs {function}, which {self.root / 'template.yaml'} does not define"
            )
        result = self._invoke_job(function, self._scheduled_event(function, now))
        return json.loads(json.dumps(result, default=str))

    def _invoke_job(self, function: str, event: Any) -> Any:
        # Scheduled and requested runs take turns: jobs are written for one run at a time.
        with self._job_lock:
            return self.invoke(function, event)

    def export_labels(self) -> str:
        """Every label as JSON lines, read from the stack's own table (for the CLI)."""
        from shared.bootstrap import bootstrap

        if not self._started:
            raise RuntimeError("the stack is not running")
        lines: list[str] = []
        bootstrap(table=wiring.table(), clock=wiring.clock()).labels.export(lines.append)
        return "".join(lines)

    def export_history(self, now: datetime) -> dict[str, Any]:
        """The stored history as a backtest input and labels (for `rewards history export`)."""
        from shared.training.history_cli import export_document

        if not self._started:
            raise RuntimeError("the stack is not running")
        return export_document(wiring.table(), wiring.hasher(), now)

    def drain(self, timeout: float = 10.0) -> None:
        if self._pollers is None:
            raise RuntimeError("the stack is not running")
        self._pollers.drain(timeout)

    def physical_id(self, logical_id: str) -> str:
        if self.stack is None:
            raise RuntimeError("the stack is not running")
        return self.stack.physical_id(logical_id)

    def client(self, service: str) -> Any:
        """A boto3 client for the stack's moto server."""
        if self._aws is None:
            raise RuntimeError("the stack is not running")
        return self._aws.client(service)

    @property
    def models_dir(self) -> Path:
        """Where model versions promoted by path are copied: the state directory's
        `models/` (kept with the stack's table), else `.local/models/`."""
        home = self.state_dir if self.state_dir is not None else runtime_dir(self.root)
        return home / MODELS_DIRNAME

    # Pieces of start()

    def _serve_http(self) -> None:
        assert self._gateway is not None and self.stack is not None
        control = LocalModelControl(self.root / "models", self.models_dir)
        self._gateway.export_history = self.export_history
        self._gateway.start(
            self.functions, self.run_job, self.stack.account_id, self.export_labels, control
        )

    def _model_environment(self) -> dict[str, str]:
        # Locally the stack's models folder stands in for the template's bucket.
        return {
            "MODEL_DIR": str(self.root / "models"),
            "MODEL_STORE_DIR": str(self.models_dir),
            "MODEL_BUCKET": "",
        }

    def _set_environment(self, values: dict[str, str]) -> None:
        for name in _AWS_UNSET:
            self._saved_environment.setdefault(name, os.environ.get(name))
            os.environ.pop(name, None)
        for name, value in values.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}

    def _put_pii_key(self, template: dict[str, Any], key: bytes) -> None:
        name = parameter_default(template, PII_PARAMETER)
        if name is None or self._aws is None:
            return
        self._aws.client("ssm").put_parameter(
            Name=name, Value=key.hex(), Type="SecureString", Overwrite=True
        )

    def _rule_arn(self, function: str, source: ScheduleSource | None) -> str:
        assert self.stack is not None
        region, account = self.stack.region, self.stack.account_id
        if source is None:
            return f"arn:aws:events:{region}:{account}:rule/{self.stack.name}-local-{function}"
        name = self.stack.resources.get(source.resource_logical_id, ("", ""))[1]
        name = name or f"{self.stack.name}-{source.resource_logical_id}"
        if source.event_type == "ScheduleV2":
            return f"arn:aws:scheduler:{region}:{account}:schedule/default/{name}"
        return f"arn:aws:events:{region}:{account}:rule/{name}"

    def _scheduled_event(self, function: str, now: datetime) -> dict[str, Any]:
        assert self.stack is not None
        source = self._schedule_sources.get(function)
        return scheduled_event(
            now, self.stack.account_id, self.stack.region, [self._rule_arn(function, source)]
        )

    def _schedule_targets(self, sources: list[ScheduleSource]) -> list[ScheduledTarget]:
        targets = []
        anchor = datetime.now(UTC)
        for source in sources:
            try:
                schedule = parse_schedule(source.expression, anchor, source.timezone)
            except ValueError as exc:
                logger.warning("%s: %s; it runs only on request", source.function, exc)
                continue

            def event(moment: datetime, source: ScheduleSource = source) -> dict[str, Any]:
                if source.input is not None:
                    # A schedule with Input delivers that instead of the Scheduled Event.
                    return dict(json.loads(source.input))
                return scheduled_event(
                    moment,
                    self.stack.account_id if self.stack else "",
                    REGION,
                    [self._rule_arn(source.function, source)],
                )

            targets.append(ScheduledTarget(source.function, schedule, event))
        return targets

    def _state_targets(self) -> tuple[dict[str, str], dict[str, str]]:
        assert self.stack is not None
        tables = self.stack.physical_ids_of_type("AWS::DynamoDB::Table")
        if self.table is not None:
            tables.pop(TABLE_LOGICAL_ID, None)
        return tables, self.stack.physical_ids_of_type("AWS::SQS::Queue")

    def _engine_state_path(self) -> Path:
        assert self.state_dir is not None
        return self.state_dir / state.TABLES_DIR / STATE_FILENAME

    def _load_state(self) -> None:
        assert self._aws is not None and self.state_dir is not None
        tables, queues = self._state_targets()
        if self.table is not None:
            count = self.table.load(self._engine_state_path())
            logger.info("restored %d item(s) of the embedded table", count)
        state.load_tables(self._aws.client("dynamodb"), tables, self.state_dir)
        state.load_queues(self._aws.client("sqs"), queues, self.state_dir)

    def _save_state(self) -> None:
        assert self._aws is not None and self.state_dir is not None
        tables, queues = self._state_targets()
        if self.table is not None:
            count = self.table.save(self._engine_state_path())
            logger.info("saved %d item(s) of the embedded table", count)
        state.dump_tables(self._aws.client("dynamodb"), tables, self.state_dir)
        state.dump_queues(self._aws.client("sqs"), queues, self.state_dir)
