"""A Powertools HTTP resolver with our contract built in.

Each function registers its routes through `Api.route`, which enforces the catalogue's roles
and the token's programs (a client route's program, found as the catalogue declares, must
be one of them), checks media type and size, parses the body into the route's pydantic
model, runs POST, PATCH and DELETE under the Idempotency-Key, and turns every failure into
problem+json.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.adapters.logging import make_logger
from shared.errors import DomainError, FieldError, InvalidCursor, InvalidRequest
from shared.http import idempotency
from shared.http.auth import Principal, Unauthenticated, principal_of
from shared.http.catalogue import IDEMPOTENT_METHODS, RouteSpec, spec
from shared.http.problem import PROBLEM_TYPE, dumps, field_errors, problem
from shared.http.scope import ProgramLocator, check_scope, functions_locator

MAX_BODY_BYTES = 64 * 1024
IDEMPOTENCY_KEY_MAX = 255
# A list cursor carries a check over the table's cursor and the list it pages: the route,
# its path and its filters. The check is not a secret, it makes a cursor tamper-evident.
_CURSOR_CHECK_KEY = b"referral-rewards list cursor v1"
_CURSOR_CHECK_BYTES = 12

B = TypeVar("B", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)


class ListQuery(BaseModel):
    model_config = ConfigDict(defer_build=True)

    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, min_length=1, max_length=2048)


@dataclass(frozen=True)
class Request(Generic[B]):
    principal: Principal
    body: B
    path: dict[str, str]
    query: dict[str, str]

    def filters(self, model: type[Q]) -> Q:
        """The route's filter parameters, validated like a body (422 names the parameter)."""
        fields = model.model_fields
        try:
            return model.model_validate({k: v for k, v in self.query.items() if k in fields})
        except ValidationError as exc:
            raise InvalidRequest(field_errors(exc)) from exc

    def list_query(self) -> ListQuery:
        try:
            return ListQuery.model_validate(
                {k: v for k, v in self.query.items() if k in ("limit", "cursor")}
            )
        except ValidationError as exc:
            raise InvalidRequest(field_errors(exc)) from exc


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any

    @classmethod
    def of(cls, status: int, model: BaseModel | dict[str, Any]) -> Reply:
        data = model.model_dump(mode="json") if isinstance(model, BaseModel) else model
        return cls(status, data)

    @classmethod
    def page(cls, items: Sequence[BaseModel], cursor: str | None) -> Reply:
        """A list response: `{"items": [...], "next_cursor": ...}`."""
        return cls(
            200, {"items": [i.model_dump(mode="json") for i in items], "next_cursor": cursor}
        )


class _Refused(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class _NoBody(BaseModel):
    model_config = ConfigDict(defer_build=True)


def _problem_response(body: dict[str, Any]) -> Response:
    return Response(status_code=body["status"], content_type=PROBLEM_TYPE, body=dumps(body))


def _json_response(reply: Reply) -> Response:
    return Response(
        status_code=reply.status, content_type="application/json", body=dumps(reply.body)
    )


class Api:
    def __init__(self, service: str, programs: ProgramLocator | None = None) -> None:
        """`programs` finds the program of a referral or advocate; by default the
        function's own table."""
        self.logger = make_logger(service)
        self.resolver = APIGatewayHttpResolver()
        self._programs = programs
        self._install_error_handlers()

    def handler(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        idempotency.register_context(context)
        return self.resolver.resolve(event, context)

    def route(
        self, method: str, path: str
    ) -> Callable[[Callable[[Request[Any]], Reply]], Callable[[Request[Any]], Reply]]:
        route = spec(method, path)
        rule = path.replace("{", "<").replace("}", ">")

        def register(fn: Callable[[Request[Any]], Reply]) -> Callable[[Request[Any]], Reply]:
            def endpoint(**path_params: str) -> Response:
                # API Gateway passes the raw path: its values arrive percent-encoded.
                decoded = {name: unquote(value) for name, value in path_params.items()}
                return self._serve(route, fn, decoded)

            self.resolver.route(rule, method)(endpoint)
            return fn

        return register

    def _serve(
        self, route: RouteSpec, fn: Callable[[Request[Any]], Reply], path_params: dict[str, str]
    ) -> Response:
        event = self.resolver.current_event
        principal = principal_of(event.raw_event)
        if not route.roles & principal.roles:
            raise _Refused(
                403, "Forbidden", f"this needs one of the roles: {', '.join(sorted(route.roles))}"
            )
        body: BaseModel = _NoBody()
        if route.request is not None:
            body = self._parse(route.request, _text_body(event), event.headers)
        query = dict(event.query_string_parameters or {})
        if principal.programs is not None and "client" in route.roles:
            # Before the Idempotency-Key: a replay is checked against the scope as well.
            locator = self._programs or functions_locator()
            check_scope(route.program, principal.programs, path_params, body, query, locator)
        binding = _list_binding(route, path_params, query) if route.list_query else None
        if binding is not None and query.get("cursor"):
            query["cursor"] = _open_cursor(query["cursor"], binding)
        request = Request(principal=principal, body=body, path=path_params, query=query)
        key = (event.headers or {}).get("idempotency-key")
        if route.method in IDEMPOTENT_METHODS and key is not None:
            if not key or len(key) > IDEMPOTENCY_KEY_MAX:
                raise InvalidRequest.field(
                    "Idempotency-Key", "must be 1 to 255 characters", "invalid_header"
                )
            scope = (
                f"{principal.subject}|{route.key}|{json.dumps(path_params, sort_keys=True)}|{key}"
            )
            payload = body.model_dump(mode="json")
            stored = idempotency.run_once(scope, payload, lambda: self._call(fn, request))
            return _response_of(stored)
        reply = self._call(fn, request)
        if binding is not None:
            reply = _with_bound_cursor(reply, binding)
        return _response_of(reply)

    def _call(self, fn: Callable[[Request[Any]], Reply], request: Request[Any]) -> dict[str, Any]:
        """Run the route; domain failures become the stored first response too."""
        try:
            reply = fn(request)
        except DomainError as exc:
            return {"problem": _domain_problem(exc)}
        return {"status": reply.status, "body": reply.body}

    @staticmethod
    def _parse(model: type[B], raw: str, headers: dict[str, str] | None) -> B:
        headers = headers or {}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise _Refused(415, "Unsupported media type", "send the body as application/json")
        if len(raw.encode()) > MAX_BODY_BYTES:
            raise _Refused(413, "Payload too large", "bodies are limited to 64 KiB")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise _Refused(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from exc
        except RecursionError as exc:
            # No request model nests more than four levels; the decoder gives up near 1000.
            raise _Refused(400, "Malformed JSON", "the body's JSON is nested too deeply") from exc
        if not isinstance(data, dict):
            raise InvalidRequest.field("body", "must be a JSON object", "type_error")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise InvalidRequest(field_errors(exc)) from exc

    def _install_error_handlers(self) -> None:
        app = self.resolver

        @app.exception_handler(DomainError)
        def _domain(exc: DomainError) -> Response:
            return _problem_response(_domain_problem(exc))

        @app.exception_handler(_Refused)
        def _refused(exc: _Refused) -> Response:
            return _problem_response(problem(exc.status, exc.title, exc.detail))

        @app.exception_handler(Unauthenticated)
        def _unauthenticated(exc: Unauthenticated) -> Response:
            return _problem_response(problem(401, "Unauthorized", str(exc)))

        @app.exception_handler(InvalidCursor)
        def _cursor(exc: InvalidCursor) -> Response:
            return _problem_response(
                _domain_problem(InvalidRequest.field("cursor", str(exc), "invalid_cursor"))
            )

        @app.exception_handler(idempotency.KeyReused)
        def _reused(exc: idempotency.KeyReused) -> Response:
            return _problem_response(
                problem(409, "Idempotency-Key conflict", str(exc), kind="idempotency-conflict")
            )

        @app.not_found
        def _not_found(_: Exception) -> Response:
            return _problem_response(problem(404, "Not found", "no such route"))

        @app.exception_handler(Exception)
        def _unexpected(exc: Exception) -> Response:
            self.logger.exception("unhandled error")
            return _problem_response(
                problem(500, "Internal error", "the request failed; it is safe to retry")
            )


def _list_binding(route: RouteSpec, path: dict[str, str], query: dict[str, str]) -> str:
    """What a cursor of this list is bound to: the route, its path and its filters (the
    page size may change from page to page)."""
    names = set(route.query.model_fields) if route.query is not None else set()
    filters = {k: v for k, v in query.items() if k in names}
    return json.dumps([route.key, path, filters], sort_keys=True)


def _cursor_check(table_cursor: str, binding: str) -> str:
    message = f"{binding}\n{table_cursor}".encode()
    digest = hmac.new(_CURSOR_CHECK_KEY, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_CURSOR_CHECK_BYTES]).decode()


def _seal_cursor(table_cursor: str, binding: str) -> str:
    return f"{table_cursor}.{_cursor_check(table_cursor, binding)}"


def _open_cursor(cursor: str, binding: str) -> str:
    table_cursor, _, check = cursor.rpartition(".")
    if not table_cursor or not hmac.compare_digest(
        check.encode(), _cursor_check(table_cursor, binding).encode()
    ):
        raise InvalidCursor(
            "was not issued by this list with these filters; start again without it"
        )
    return table_cursor


def _with_bound_cursor(stored: dict[str, Any], binding: str) -> dict[str, Any]:
    body = stored.get("body")
    if not isinstance(body, dict) or not body.get("next_cursor"):
        return stored
    return {**stored, "body": {**body, "next_cursor": _seal_cursor(body["next_cursor"], binding)}}


def _text_body(event: APIGatewayProxyEventV2) -> str:
    """The body as text; bytes that are not UTF-8 arrive base64-encoded and are no JSON."""
    try:
        return event.decoded_body or ""
    except UnicodeDecodeError as exc:
        raise _Refused(400, "Malformed JSON", "the body is not UTF-8 text") from exc


def _domain_problem(exc: DomainError) -> dict[str, Any]:
    # A refusal that names fields carries `errors` (InvalidRequest, or a 409 such as a
    # redemption beyond the balance).
    errors: list[FieldError] | None = getattr(exc, "errors", None)
    kind = type(exc).__name__.lower()
    return problem(exc.status, exc.title, exc.detail, kind=kind, errors=errors)


def _response_of(stored: dict[str, Any]) -> Response:
    if "problem" in stored:
        return _problem_response(stored["problem"])
    return _json_response(Reply(stored["status"], stored["body"]))
