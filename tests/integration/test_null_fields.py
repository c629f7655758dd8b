"""An explicit JSON `null` for an optional field answers exactly as leaving the field out,
on every route that takes a body, and the OpenAPI document says such fields take null.

The fields are enumerated from the request models themselves, so a new optional field is
covered the day it is added."""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from shared.adapters.memory_reward_queue import MemoryRewardQueue
from shared.clock import FixedClock
from shared.http.catalogue import ROUTES
from shared.http.openapi import document
from shared.payouts.sandbox import REJECTED_RECIPIENT_DOMAIN
from shared.payouts.sandbox_faults import FaultPlan
from shared.schemas.advocates import AdvocateEnrol
from tests.integration.conftest import Invoke, approved_in_functions_table
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique
from tests.unit.rewards.conftest import World


@dataclass(frozen=True)
class Call:
    function_dir: str
    method: str
    route: str
    path: str
    body: dict[str, Any]
    roles: tuple[str, ...]


Arrange = Callable[[Invoke], Call]


def _program(invoke: Invoke) -> str:
    # Dated an hour back, as its advocates are, so referrals dated `_recently()` may follow.
    status, _, body = invoke(
        "programs",
        "POST",
        "/v1/programs",
        body=program_body(occurred_at=_an_hour_ago()),
        roles=["admin"],
    )
    assert status == 201, body
    return str(body["program_id"])


def _code(invoke: Invoke, program_id: str) -> str:
    route = "/v1/programs/{program_id}/advocates"
    path = route.replace("{program_id}", program_id)
    enrolment = advocate_body(occurred_at=_an_hour_ago())
    status, _, body = invoke("advocates", "POST", route, path, body=enrolment, roles=["client"])
    assert status == 201, body
    return str(body["referral_code"])


def _referral(invoke: Invoke) -> str:
    program_id = _program(invoke)
    body = referral_body(program_id, _code(invoke, program_id))
    status, _, created = invoke("referrals", "POST", "/v1/referrals", body=body, roles=["client"])
    assert status == 201, created
    return str(created["referral_id"])


def _create_program(invoke: Invoke) -> Call:
    body = program_body(occurred_at=_recently())
    return Call("programs", "POST", "/v1/programs", "/v1/programs", body, ("admin",))


def _update_program(invoke: Invoke) -> Call:
    route = "/v1/programs/{program_id}"
    body = {
        "status": "active",
        "budget_top_up": {"amount": "10.00", "currency": "USD"},
        "holding_period_days": 7,
        "review_timeout_days": 10,
        "review_timeout_action": "reject",
        "dual_approval_over": "50.00",
        "auto_reject": False,
    }
    path = route.replace("{program_id}", _program(invoke))
    return Call("programs", "PATCH", route, path, body, ("admin",))


def _enrol(invoke: Invoke) -> Call:
    route = "/v1/programs/{program_id}/advocates"
    body = advocate_body(occurred_at=_recently())
    body["context"]["user_agent"] = "Mozilla/5.0"
    path = route.replace("{program_id}", _program(invoke))
    return Call("advocates", "POST", route, path, body, ("client",))


def _refer(invoke: Invoke) -> Call:
    program_id = _program(invoke)
    body = referral_body(program_id, _code(invoke, program_id), occurred_at=_recently())
    body["context"]["user_agent"] = "Mozilla/5.0"
    return Call("referrals", "POST", "/v1/referrals", "/v1/referrals", body, ("client",))


def _event(invoke: Invoke) -> Call:
    route = "/v1/referrals/{referral_id}/events"
    path = route.replace("{referral_id}", _referral(invoke))
    return Call("events", "POST", route, path, purchase_body(occurred_at=_now()), ("client",))


def _decide(invoke: Invoke) -> Call:
    route = "/v1/reviews/{referral_id}/decision"
    path = route.replace("{referral_id}", _referral(invoke))
    body = {"decision": "approve", "note": "checked"}
    return Call("reviews", "POST", route, path, body, ("finance",))


def _block(invoke: Invoke) -> Call:
    body = {"kind": "device", "value": unique("dev"), "note": "shared by a ring"}
    return Call("reviews", "POST", "/v1/blocklist", "/v1/blocklist", body, ("finance",))


def _webhook(invoke: Invoke) -> Call:
    body = {"url": "https://hooks.example.com/rewards", "events": ["reward.paid"]}
    return Call("webhooks", "POST", "/v1/webhooks", "/v1/webhooks", body, ("admin",))


def _campaign(invoke: Invoke) -> Call:
    route = "/v1/programs/{program_id}/campaigns"
    body = {
        "name": "Spring group goal",
        "goal_referrals": 10,
        "reward": {"kind": "gift_card", "amount": "25.00", "currency": "USD"},
        "starts_at": _now(),
        "ends_at": (datetime.now(UTC) + timedelta(days=30)).isoformat().replace("+00:00", "Z"),
    }
    path = route.replace("{program_id}", _program(invoke))
    return Call("programs", "POST", route, path, body, ("admin",))


def _refund(invoke: Invoke) -> Call:

    clock = FixedClock(datetime.now(UTC) - timedelta(minutes=1))
    world, referral_id = approved_in_functions_table(clock)
    route = "/v1/referrals/{referral_id}/refunds"
    body = {
        "order_id": world.order_of(referral_id),
        "amount": "5.00",
        "currency": "USD",
        "occurred_at": _now(),
    }
    path = route.replace("{referral_id}", referral_id)
    return Call("events", "POST", route, path, body, ("client",))


def _failed_reward(invoke: Invoke) -> tuple[str, str]:
    """A released referral whose gift card the sandbox refused (the advocate's domain)."""
    from shared import wiring

    world = World(
        table=wiring.table(),  # type: ignore[arg-type]
        clock=FixedClock(datetime.now(UTC) - timedelta(minutes=1)),
        queue=MemoryRewardQueue(),
        gift_faults=FaultPlan.none(),
        cash_faults=FaultPlan.none(),
        providers=wiring.payout_providers(),
    )
    program_id = world.program()
    customer = unique("adv")
    body = advocate_body(customer, email=f"{customer}@{REJECTED_RECIPIENT_DOMAIN}")
    enrolled = world.advocates.enrol(program_id, AdvocateEnrol.model_validate(body).command())
    referral_id = world.approved(program_id, enrolled.advocate.referral_code)
    world.release.release(referral_id)
    world.drain()
    gift = next(r for r in world.rewards(referral_id) if r.kind == "gift_card")
    return referral_id, gift.reward_id


def _reissue(invoke: Invoke) -> Call:
    _, reward_id = _failed_reward(invoke)
    route = "/v1/rewards/{reward_id}/reissue"
    body = {"note": "new address", "recipient_email": "ok@example.com"}
    path = route.replace("{reward_id}", reward_id)
    return Call("reward_corrections", "POST", route, path, body, ("finance",))


def _reverse(invoke: Invoke) -> Call:
    route = "/v1/referrals/{referral_id}/reverse"
    path = route.replace("{referral_id}", _referral(invoke))
    return Call("reward_corrections", "POST", route, path, {"note": "x"}, ("finance",))


def _redeem(invoke: Invoke) -> Call:
    route = "/v1/customers/{customer_id}/points/redemptions"
    body = {"program_id": _program(invoke), "points": "10", "reference": unique("checkout")}
    path = route.replace("{customer_id}", unique("cust"))
    return Call("points", "POST", route, path, body, ("client",))


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _recently() -> str:
    return (datetime.now(UTC) - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")


def _an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")


ARRANGE: dict[str, Arrange] = {
    "POST /v1/programs": _create_program,
    "PATCH /v1/programs/{program_id}": _update_program,
    "POST /v1/programs/{program_id}/advocates": _enrol,
    "POST /v1/referrals": _refer,
    "POST /v1/referrals/{referral_id}/events": _event,
    "POST /v1/reviews/{referral_id}/decision": _decide,
    "POST /v1/blocklist": _block,
    "POST /v1/webhooks": _webhook,
    "POST /v1/programs/{program_id}/campaigns": _campaign,
    "POST /v1/referrals/{referral_id}/refunds": _refund,
    "POST /v1/rewards/{reward_id}/reissue": _reissue,
    "POST /v1/referrals/{referral_id}/reverse": _reverse,
    "POST /v1/customers/{customer_id}/points/redemptions": _redeem,
}


def _submodels(annotation: Any) -> Iterator[tuple[type[BaseModel], bool]]:
    """The models inside a field's annotation, and whether they sit in a list."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, False
    elif origin is list:
        for model, _ in _submodels(typing.get_args(annotation)[0]):
            yield model, True
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _submodels(arg)


def optional_fields(model: type[BaseModel], prefix: tuple[str | int, ...] = ()) -> Iterator[tuple]:
    """Dotted paths of every field a client may leave out, nested models included."""
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        if not info.is_required():
            yield path
        for sub, in_list in _submodels(info.annotation):
            yield from optional_fields(sub, (*path, 0) if in_list else path)


CASES = [
    pytest.param(route.key, path, id=f"{route.key} {'.'.join(map(str, path))}")
    for route in ROUTES
    if route.request is not None
    for path in optional_fields(route.request)
]


def _has(body: Any, path: tuple) -> bool:
    for step in path[:-1]:
        try:
            body = body[step]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(body, dict)


def _set(body: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    node: Any = changed
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return changed


def _drop(body: dict[str, Any], path: tuple) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    node: Any = changed
    for step in path[:-1]:
        node = node[step]
    node.pop(path[-1], None)
    return changed


def _send(invoke: Invoke, call: Call, body: dict[str, Any]) -> tuple[int, Any]:
    status, _, reply = invoke(
        call.function_dir, call.method, call.route, call.path, body=body, roles=list(call.roles)
    )
    return status, reply


def test_every_route_with_a_body_is_covered() -> None:
    assert {r.key for r in ROUTES if r.request is not None} == set(ARRANGE)


@pytest.mark.parametrize(("route_key", "path"), CASES)
def test_null_for_an_optional_field_answers_as_leaving_it_out(
    invoke: Invoke, route_key: str, path: tuple
) -> None:
    # Given two fresh, identical requests that differ only in how the field is left out
    arrange = ARRANGE[route_key]
    absent_call, null_call = arrange(invoke), arrange(invoke)
    if not _has(null_call.body, path):
        pytest.skip("the example body has no parent object for this field")

    # When one leaves the field out and the other sends null
    absent_status, absent = _send(invoke, absent_call, _drop(absent_call.body, path))
    null_status, null = _send(invoke, null_call, _set(null_call.body, path, None))

    # Then both answer alike, and never with a server error
    assert null_status < 500, null
    assert null_status == absent_status, (null, absent)
    if null_status == 422:
        assert [e["field"] for e in null["errors"]] == [e["field"] for e in absent["errors"]]


def _schema_of(doc: dict[str, Any], model: type[BaseModel], path: tuple) -> dict[str, Any]:
    schemas = doc["components"]["schemas"]
    node: dict[str, Any] = schemas[model.__name__]
    for step in path:
        node = _resolve(schemas, node)
        node = node["items"] if isinstance(step, int) else node["properties"][step]
    return node


def _resolve(schemas: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return _resolve(schemas, schemas[node["$ref"].rsplit("/", 1)[1]])
    for option in node.get("anyOf", []):
        if option.get("type") != "null":
            return _resolve(schemas, option)
    return node


def _takes_null(node: dict[str, Any]) -> bool:
    return node.get("type") == "null" or any(_takes_null(o) for o in node.get("anyOf", []))


@pytest.mark.parametrize(("route_key", "path"), CASES)
def test_the_openapi_document_says_an_optional_field_takes_null(
    route_key: str, path: tuple
) -> None:
    route = next(r for r in ROUTES if r.key == route_key)
    assert route.request is not None

    node = _schema_of(document(), route.request, path)

    assert _takes_null(node), node
