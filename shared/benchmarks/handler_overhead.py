"""What the handler adds to a request beyond its own DynamoDB and SQS calls, on moto.

POST /v1/referrals and POST /v1/referrals/{id}/events go through the real handlers
(`lambda_handler` with an API Gateway v2 event) against moto's server on 127.0.0.1, with the
table created from template.yaml's own definition. A botocore hook records the calls one
request makes; the same call sequence is then replayed with boto3 directly, the keys made
fresh by giving every key part that differed between two recorded requests a new suffix,
so conditional writes succeed as they did in the handler. Handler and replay take turns;
the figure is the ratio of their medians.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import os
import secrets
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from shared.local.load import program_body

ROOT = Path(__file__).resolve().parents[2]
EVENT = ROOT / "tests" / "events" / "http_api_v2.json"
ITERATIONS = 30
WARM_UP = 3
GOAL = 1.5
SERVICES = ("dynamodb", "sqs")

Call = tuple[str, str, dict[str, Any]]


@dataclass
class Recorder:
    """The DynamoDB and SQS calls made while `on`, with their parameters as passed."""

    on: bool = False
    calls: list[Call] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], model: Any, event_name: str, **_: Any) -> None:
        if self.on:
            self.calls.append((event_name.split(".")[1], model.name, copy.deepcopy(params)))

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Call]]:
        self.calls, self.on = [], True
        try:
            yield self.calls
        finally:
            self.on = False


def _strings(value: Any) -> Iterator[str]:
    """Every DynamoDB string value ({"S": ...}) inside a request's parameters."""
    if isinstance(value, dict):
        if set(value) == {"S"} and isinstance(value["S"], str):
            yield value["S"]
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def _parts(calls: list[Call]) -> set[str]:
    return {part for _, _, params in calls for text in _strings(params) for part in text.split("#")}


def _renamed(value: Any, unique: set[str], suffix: str) -> Any:
    if isinstance(value, dict):
        if set(value) == {"S"} and isinstance(value["S"], str):
            parts = value["S"].split("#")
            return {"S": "#".join(p + suffix if p in unique else p for p in parts)}
        return {k: _renamed(v, unique, suffix) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, unique, suffix) for v in value]
    return value


@dataclass
class Replay:
    """One recorded request's calls, to run again with boto3 under fresh keys."""

    calls: list[Call]
    unique: set[str]
    clients: dict[str, Any]

    def run(self, suffix: str) -> None:
        from botocore import xform_name

        for service, operation, params in self.calls:
            method = getattr(self.clients[service], xform_name(operation))
            method(**_renamed(params, self.unique, suffix))


def _handler(function: str) -> ModuleType:
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"bench_handler_{function}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


def _event(method: str, route: str, path: str, body: Any, role: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(EVENT.read_text())
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["authorizer"]["jwt"]["claims"] = {
        "sub": "bench",
        "roles": f"[{role}]",
    }
    event["body"] = json.dumps(body)
    return event


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _moto_stack() -> Iterator[dict[str, str]]:
    """moto on a free port of 127.0.0.1 with the template's table, a scoring queue, a key."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from shared.local.template import load_template

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    aws = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        with _environment(aws):
            boto3.setup_default_session()
            props = load_template(ROOT / "template.yaml")["Resources"]["Table"]["Properties"]
            table = f"bench-{uuid.uuid4().hex[:8]}"
            boto3.client("dynamodb").create_table(
                TableName=table,
                BillingMode=props["BillingMode"],
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            )
            queue = boto3.client("sqs").create_queue(QueueName=f"bench-scoring-{port}")
            boto3.client("ssm").put_parameter(
                Name="/bench/pii-key", Value=secrets.token_hex(32), Type="SecureString"
            )
            resources = {
                "TABLE_NAME": table,
                "SCORING_QUEUE_URL": queue["QueueUrl"],
                "PII_KEY_PARAMETER": "/bench/pii-key",
            }
            with _environment(resources):
                yield resources
    finally:
        server.stop()
        import boto3 as reloaded

        reloaded.DEFAULT_SESSION = None


def _ok(response: dict[str, Any]) -> dict[str, Any]:
    if response["statusCode"] >= 300:
        raise RuntimeError(f"the handler answered {response['statusCode']}: {response['body']}")
    body: dict[str, Any] = json.loads(response["body"])
    return body


def _timed(work: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work(*args)
    return time.perf_counter() - started, result


class _Requests:
    """Referral and purchase requests for one advocate's code, each for a new referee."""

    def __init__(self, handlers: dict[str, ModuleType]) -> None:
        self.handlers = handlers
        self.program_id, self.code = self._program_with_advocate()

    def call(self, function: str, method: str, route: str, path: str, body: Any, role: str) -> Any:
        event = _event(method, route, path, body, role)
        return _ok(self.handlers[function].lambda_handler(event, _Context()))

    def _program_with_advocate(self) -> tuple[str, str]:
        program = self.call("programs", "POST", "/v1/programs", "/v1/programs", _PROGRAM, "admin")
        program_id = program["program_id"]
        customer = f"adv-{uuid.uuid4().hex[:10]}"
        advocate = self.call(
            "advocates",
            "POST",
            "/v1/programs/{program_id}/advocates",
            f"/v1/programs/{program_id}/advocates",
            {"customer_id": customer, "email": f"{customer}@example.com"},
            "client",
        )
        return program_id, advocate["referral_code"]

    def referral(self) -> str:
        referee = f"ref-{uuid.uuid4().hex[:10]}"
        body = {
            "program_id": self.program_id,
            "referral_code": self.code,
            "referee": {"customer_id": referee, "email": f"{referee}@example.org"},
            "context": {"ip": "198.51.100.23", "device_id": f"dev-{referee}", "country": "US"},
        }
        created = self.call("referrals", "POST", "/v1/referrals", "/v1/referrals", body, "client")
        referral_id: str = created["referral_id"]
        return referral_id

    def purchase(self, referral_id: str) -> None:
        order = uuid.uuid4().hex[:10]
        body = {
            "type": "purchase",
            "order_id": f"ord-{order}",
            "amount": "45.00",
            "currency": "USD",
            "payment_fingerprint": f"card-{order}",
        }
        route = "/v1/referrals/{referral_id}/events"
        path = f"/v1/referrals/{referral_id}/events"
        self.call("events", "POST", route, path, body, "client")


# The load driver's program, with a smaller budget and no per-advocate cap.
_PROGRAM = program_body(name="Bench", budget="1000000.00", cap=None)


def _recorded(requests: _Requests, recorder: Recorder) -> tuple[list[Call], list[Call]]:
    with recorder.recording() as create:
        referral_id = requests.referral()
    with recorder.recording() as purchase:
        requests.purchase(referral_id)
    return create, purchase


def _replays(requests: _Requests, recorder: Recorder, clients: dict[str, Any]) -> list[Replay]:
    """The referral and the purchase as call sequences, with the key parts that change
    from one request to the next (ids, hashes of the referee, times) marked unique."""
    first = _recorded(requests, recorder)
    second = _recorded(requests, recorder)
    shapes = [[(s, o) for s, o, _ in calls] for calls in (*first, *second)]
    if shapes[0] != shapes[2] or shapes[1] != shapes[3]:
        raise RuntimeError("two alike requests made different calls; nothing stable to replay")
    unique = _parts([*first[0], *first[1]]) - _parts([*second[0], *second[1]])
    return [Replay(calls, unique, clients) for calls in first]


def _figure(name: str, handler: list[float], direct: list[float], calls: int) -> dict[str, Any]:
    ratio = statistics.median(handler) / statistics.median(direct)
    return {
        "name": f"handler overhead {name}",
        "value": round(ratio, 2),
        "unit": "x",
        "goal": f"<= {GOAL}",
        "met": ratio <= GOAL,
        "handler_ms": round(statistics.median(handler) * 1000, 2),
        "direct_ms": round(statistics.median(direct) * 1000, 2),
        "aws_calls": calls,
    }


def _run(iterations: int) -> list[dict[str, Any]]:
    import boto3

    from shared import wiring

    recorder = Recorder()
    for service in SERVICES:
        boto3.DEFAULT_SESSION.events.register(f"provide-client-params.{service}", recorder)
    wiring.reset()
    handlers = {f: _handler(f) for f in ("programs", "advocates", "referrals", "events")}
    requests = _Requests(handlers)
    for _ in range(WARM_UP):
        requests.purchase(requests.referral())
    clients = {service: boto3.client(service) for service in SERVICES}
    create, purchase = _replays(requests, recorder, clients)
    times: dict[str, list[float]] = {k: [] for k in ("create", "purchase", "create_d", "purch_d")}
    for i in range(iterations):
        # Who goes first alternates, so neither side always meets a warmer server.
        if i % 2:
            times["create_d"].append(_timed(create.run, f"-r{i}")[0])
            times["purch_d"].append(_timed(purchase.run, f"-r{i}")[0])
        elapsed, referral_id = _timed(requests.referral)
        times["create"].append(elapsed)
        times["purchase"].append(_timed(requests.purchase, referral_id)[0])
        if not i % 2:
            times["create_d"].append(_timed(create.run, f"-r{i}")[0])
            times["purch_d"].append(_timed(purchase.run, f"-r{i}")[0])
    wiring.reset()
    return [
        _figure("POST /v1/referrals", times["create"], times["create_d"], len(create.calls)),
        _figure(
            "POST /v1/referrals/{id}/events",
            times["purchase"],
            times["purch_d"],
            len(purchase.calls),
        ),
    ]


def measure(iterations: int = ITERATIONS) -> list[dict[str, Any]]:
    # The handlers log every request; the figure counts that work but not its output here.
    with _moto_stack(), contextlib.redirect_stdout(io.StringIO()):
        return _run(iterations)


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
