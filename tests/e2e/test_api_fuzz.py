"""The HTTP API fuzzed against its own OpenAPI document on the local stack.

Every operation in /v1/openapi.json gets generated requests (valid and invalid), sent with
a bearer token of a role the route catalogue allows, and every answer must keep the
document's promises: no 5xx, a documented status code, the documented content type and a
body matching the documented schema. Beyond what a schema alone suggests, the requests
also carry:

- real ids for path parameters (seeded before the run), so handlers get past their 404s;
- cursors shaped like the ones the API issues, naming keys of the fuzzer's choosing;
- bodies nested thousands of levels deep (still under the 64 KiB limit);
- an Idempotency-Key on every PATCH and DELETE; a request sent with a key that succeeded
  is replayed and must get the first answer back;
- real ids sent percent-encoded must name the same resource as sent plainly.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.http.catalogue import spec
from shared.http.openapi import document
from shared.local.stack import LocalStack
from shared.storage.table import encode_cursor
from tests.e2e.conftest import Client, token
from tests.support import advocate_body, program_body, purchase_body, referral_body

# 21 operations x 50 generated examples (plus the schema's own examples and the boundary
# cases schemathesis derives) take about two and a half minutes on a 2-core machine.
EXAMPLES_PER_OPERATION = 50
FUZZ_SUBJECT = "fuzz-user"
# The request parser must answer 400/422 at any depth; 30 000 levels is about 60 KB.
NESTING_DEPTHS = (1_000, 10_000, 30_000)
CURSOR_KEY_SETS = (
    ("pk", "sk"),
    ("gsi1pk", "gsi1sk", "pk", "sk"),
    ("gsi2pk", "gsi2sk", "pk", "sk"),
)

# The document the stack serves is built in-process from the route catalogue, so it can be
# loaded at collection time (one test per operation); `fuzz_target` checks that the
# running stack serves exactly this one.
SCHEMA = schemathesis.openapi.from_dict(document())
# Filled once the stack is seeded; strategies read it lazily, at the first draw.
SEEDED: dict[str, str] = {}
TARGET: dict[str, str] = {}
_session = requests.Session()
_tokens: dict[str, str] = {}
_idempotency_keys = itertools.count()
_requests_sent: Counter[str] = Counter()


def _seed(base: str) -> dict[str, str]:
    """Real ids for every path parameter: a program, its advocate, a scored referral and a
    blocklist entry."""
    admin = Client(base, ("admin",), FUZZ_SUBJECT)
    client = Client(base, ("client",), FUZZ_SUBJECT)
    finance = Client(base, ("finance",), FUZZ_SUBJECT)
    program = admin.post("/v1/programs", program_body())
    assert program.status_code == 201, program.text
    program_id = program.json()["program_id"]
    advocate = advocate_body()
    enrolled = client.post(f"/v1/programs/{program_id}/advocates", advocate)
    assert enrolled.status_code == 201, enrolled.text
    code = enrolled.json()["referral_code"]
    referral = client.post("/v1/referrals", referral_body(program_id, code))
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["referral_id"]
    event = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
    assert event.status_code == 202, event.text
    blocked = finance.post("/v1/blocklist", {"kind": "email_domain", "value": "fuzz.example"})
    assert blocked.status_code == 201, blocked.text
    return {
        "program_id": program_id,
        "code": code,
        "referral_id": referral_id,
        # The referral's advocate reward, named as the ledger names it (not yet released).
        "reward_id": f"{referral_id}-advocate",
        "entry_id": blocked.json()["entry_id"],
        "customer_id": advocate["customer_id"],
        "advocate_id": enrolled.json()["advocate_id"],
    }


@SCHEMA.hook("before_generate_path_parameters")
def _sometimes_real_ids(context: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    names = [p.name for p in context.operation.path_parameters]

    def real_ids() -> st.SearchStrategy:
        # Explicit examples are drawn at collection, before the stack is seeded.
        if not SEEDED or not set(names) <= set(SEEDED):
            return strategy
        return st.just({name: SEEDED[name] for name in names})

    return st.one_of(st.deferred(real_ids), strategy)


def _now_and_then(
    rare: st.SearchStrategy, *, otherwise: st.SearchStrategy, one_in: int
) -> st.SearchStrategy:
    """`rare` for about one draw in `one_in`, so the schema's own values keep the majority."""
    return st.integers(1, one_in).flatmap(lambda roll: rare if roll == one_in else otherwise)


_forged_cursors = st.builds(
    encode_cursor,
    st.sampled_from(CURSOR_KEY_SETS).flatmap(
        lambda names: st.fixed_dictionaries({name: st.text(max_size=40) for name in names})
    ),
)


@SCHEMA.hook("flatmap_query")
def _sometimes_forged_cursors(context: Any, query: dict[str, Any] | None) -> st.SearchStrategy:
    if not any(p.name == "cursor" for p in context.operation.query):
        return st.just(query)
    forged = _forged_cursors.map(lambda cursor: {**(query or {}), "cursor": cursor})
    return _now_and_then(forged, otherwise=st.just(query), one_in=3)


def _nested(depth: int) -> bytes:
    return b'{"nested": ' + b"[" * depth + b"]" * depth + b"}"


@SCHEMA.hook("before_generate_body")
def _sometimes_deeply_nested(context: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    # Raw bytes go out as they are: json.dumps could not build these itself.
    nested = st.sampled_from(NESTING_DEPTHS).map(_nested)
    return _now_and_then(nested, otherwise=strategy, one_in=10)


def _document(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content


@SCHEMA.hook("before_add_examples")
def _one_of_each_known_hazard(context: Any, examples: list[Any]) -> None:
    """Whatever the draws, every operation sees the deepest body and a forged cursor once."""
    operation = context.operation
    path = {p.name: "0" for p in operation.path_parameters}
    if operation.body:
        examples.append(
            operation.Case(
                path_parameters=path,
                body=_nested(NESTING_DEPTHS[-1]),
                media_type="application/json",
            )
        )
    if any(p.name == "cursor" for p in operation.query):
        examples.append(
            operation.Case(
                path_parameters=path, query={"cursor": encode_cursor({"pk": "", "sk": ""})}
            )
        )


@schemathesis.check
def replaying_an_idempotency_key_returns_the_first_answer(
    ctx: Any, response: Any, case: Any
) -> bool | None:
    if "idempotency-key" not in {k.lower() for k in response.request.headers}:
        return None
    # Only an answer that changed something is worth repeating (and it keeps the run short).
    if not 200 <= response.status_code < 300:
        return None
    replay = _session.send(response.request.copy(), timeout=30)
    # A stored answer comes back with its keys sorted: compare the documents, not bytes.
    if (replay.status_code, _document(replay.content)) != (
        response.status_code,
        _document(response.content),
    ):
        raise AssertionError(
            f"replaying the same Idempotency-Key got {replay.status_code} {replay.text[:200]}"
            f" after {response.status_code} {response.text[:200]}"
        )
    return True


@schemathesis.check
def percent_encoded_ids_name_the_same_resource(ctx: Any, response: Any, case: Any) -> bool | None:
    params = case.path_parameters or {}
    if case.method.upper() != "GET" or not params:
        return None
    if any(SEEDED.get(name) != value for name, value in params.items()):
        return None
    encoded = case.operation.path.format(
        **{name: "".join(f"%{b:02X}" for b in value.encode()) for name, value in params.items()}
    )
    request = response.request.copy()
    query = urlsplit(request.url).query
    request.url = TARGET["url"] + encoded + (f"?{query}" if query else "")
    again = _session.send(request, timeout=30)
    if again.status_code != response.status_code:
        raise AssertionError(
            f"{encoded} answered {again.status_code}, the plain path {response.status_code}"
        )
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    replaying_an_idempotency_key_returns_the_first_answer,
    percent_encoded_ids_name_the_same_resource,
]


@pytest.fixture(scope="module")
def fuzz_target(stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[str]:
    served = requests.get(f"{stack.url}/v1/openapi.json", timeout=30)
    assert served.status_code == 200, served.text
    assert served.json() == document()
    SEEDED.update(_seed(stack.url))
    stack.drain()
    TARGET["url"] = stack.url
    yield stack.url
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        fewest = min(_requests_sent, key=_requests_sent.__getitem__)
        reporter.write_line(
            f"fuzzed {len(_requests_sent)} operations with {sum(_requests_sent.values())} "
            f"generated requests (fewest: {_requests_sent[fewest]}, {fewest})"
        )


def _headers_for(method: str, path: str) -> dict[str, str]:
    """A bearer token of a role the route allows; PATCH and DELETE carry a fresh key."""
    headers: dict[str, str] = {}
    roles = spec(method, path).roles
    if roles:
        role = sorted(roles)[0]
        if role not in _tokens:
            _tokens[role] = token(role, sub=FUZZ_SUBJECT)
        headers["Authorization"] = f"Bearer {_tokens[role]}"
    if method in ("PATCH", "DELETE"):
        headers["Idempotency-Key"] = f"fuzz-{next(_idempotency_keys)}"
    return headers


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_the_documents_promises(case: Any, fuzz_target: str) -> None:
    # Given a generated request, sent with a token of a role the route allows
    headers = _headers_for(case.operation.method.upper(), case.operation.path)
    _requests_sent[case.operation.label] += 1
    # When it reaches the stack, Then the answer keeps every promise the document makes
    case.call_and_validate(
        base_url=fuzz_target, session=_session, headers=headers, checks=CHECKS, timeout=30
    )
