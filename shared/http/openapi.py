"""The OpenAPI 3.1 document, generated from the route catalogue and the pydantic models."""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.http.catalogue import IDEMPOTENT_METHODS, ROUTES, RouteSpec
from shared.schemas.common import Problem
from shared.schemas.webhooks import WebhookPayload

_PROBLEMS = {
    400: "Malformed JSON",
    401: "Missing, invalid or expired bearer token",
    403: "The caller's roles do not allow this",
    404: "Not found",
    409: "Conflict (duplicate, paused program, Idempotency-Key reuse, too few points)",
    413: "Body over 64 KiB",
    415: "Body is not application/json",
    422: "Validation failed; `errors[]` names each field",
}


Mode = Literal["validation", "serialization"]
Names = dict[tuple[Any, Mode], Any]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(route: RouteSpec, names: Names) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": re.sub(r"\W+", "_", f"{route.method.lower()}{route.path}").strip("_"),
        "responses": {},
    }
    if route.roles:
        op["security"] = [{"bearer": []}]
        op["x-roles"] = sorted(route.roles)
    params = _parameters(route)
    if params:
        op["parameters"] = params
    if route.request is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": names[(route.request, "validation")]}},
        }
    op["responses"].update(_success_responses(route, names))
    op["responses"].update(_problem_responses(route))
    return op


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}

_PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "The `next_cursor` of the previous page, sent with the same "
        "filters (another list or other filters: 422 naming `cursor`)",
        "schema": {"type": "string"},
    },
]


def _parameters(route: RouteSpec) -> list[dict[str, Any]]:
    """Path parameters, then the Idempotency-Key header, paging and the query model's fields."""
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in re.findall(r"{(\w+)}", route.path)
    ]
    if route.method in IDEMPOTENT_METHODS:
        params.append(copy.deepcopy(_IDEMPOTENCY_KEY))
    if route.list_query:
        params += copy.deepcopy(_PAGE_PARAMETERS)
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template="#/components/schemas/{model}")
        required = set(schema.get("required", []))
        params += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()
        ]
    return params


def _success_responses(route: RouteSpec, names: Names) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, model in route.responses.items():
        content = (
            {"application/json": {"schema": names[(model, "serialization")]}}
            if model
            else {"application/json": {"schema": {"type": "object"}}}
        )
        responses[str(status)] = {"description": "Success", "content": content}
    return responses


def _problem_responses(route: RouteSpec) -> dict[str, Any]:
    """The problem documents a route can answer: auth and validation for a guarded route,
    body errors for one with a body, key reuse for an idempotent one."""
    problem_statuses = [401, 403, 404, 422] if route.roles else []
    if route.request is not None:
        problem_statuses += [400, 409, 413, 415]
    if route.method in IDEMPOTENT_METHODS:
        problem_statuses.append(409)
    return {
        str(status): {
            "description": _PROBLEMS[status],
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
        for status in sorted(set(problem_statuses))
    }


def _webhooks(names: Names) -> dict[str, Any]:
    """What a registered webhook receives: one POST per event, signed."""
    from shared.domain.webhook_signature import HEADER
    from shared.domain.webhooks import EVENT_TYPES

    signature = {
        "name": HEADER,
        "in": "header",
        "required": True,
        "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> keyed with '
        "the webhook's secret; reject a t more than 300 s old and dedupe on the event id",
        "schema": {"type": "string", "example": "t=1767225600,v1=5257a869e7..."},
    }
    payload = names[(WebhookPayload, "serialization")]
    return {
        event_type: {
            "post": {
                "summary": f"{event_type}, delivered to each webhook subscribed to it",
                "operationId": "webhook_" + event_type.replace(".", "_"),
                "parameters": [signature],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": payload}},
                },
                "responses": {
                    "2XX": {"description": "Received; any other answer is retried"},
                },
            }
        }
        for event_type in EVENT_TYPES
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    models: set[tuple[type[BaseModel], Mode]] = {
        (Problem, "serialization"),
        (WebhookPayload, "serialization"),
    }
    for route in ROUTES:
        if route.request is not None:
            models.add((route.request, "validation"))
        for model in route.responses.values():
            if model is not None:
                models.add((model, "serialization"))
    ordered = sorted(models, key=lambda m: (m[0].__name__, m[1]))
    names, schema = models_json_schema(
        ordered, ref_template="#/components/schemas/{model}", title="Referral rewards"
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, names)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Referral rewards API",
            "version": "1.0.0",
            "description": "Record referrals, score them for fraud, pay rewards exactly once.",
        },
        "paths": paths,
        "webhooks": _webhooks(names),
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
