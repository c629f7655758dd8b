"""An HTTP gateway that behaves like the template's HTTP API: routes, JWT authorizer and
payload format 2.0 events, with the handlers called in-process.

It also serves the local control endpoints under /_local/ (health, run a job).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from shared.local.dev_tokens import InvalidTokenError
from shared.local.handlers import LocalFunction
from shared.local.jobs import UnknownJobError
from shared.local.scheduled_events import parse_instant
from shared.local.template import Route

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# A refused body up to this size is read and dropped so the client sees the 413 instead of
# a reset connection; beyond it the connection is closed unread.
_DISCARD_LIMIT = 1024 * 1024
API_ID = "local"
CONTROL_PREFIX = "/_local/"
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


class GatewayError(Exception):
    """A request the gateway answers itself, with a problem document."""

    def __init__(
        self, status: HTTPStatus, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def problem(status: HTTPStatus, detail: str) -> bytes:
    document = {
        "type": "about:blank",
        "title": status.phrase,
        "status": int(status),
        "detail": detail,
    }
    return json.dumps(document).encode()


@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    pattern: re.Pattern[str] | None  # None for $default
    names: tuple[str, ...]
    specificity: tuple[int, int, int]


def _compile(route: Route) -> _CompiledRoute:
    if route.path == "$default":
        return _CompiledRoute(route, None, (), (-99, 0, 0))
    parts, names, greedy = [], [], 0
    for segment in route.path.strip("/").split("/"):
        match = re.fullmatch(r"\{([^{}]+?)(\+?)\}", segment)
        if not match:
            parts.append(re.escape(segment))
            continue
        names.append(match.group(1))
        greedy += bool(match.group(2))
        parts.append(f"(?P<p{len(names) - 1}>{'.+' if match.group(2) else '[^/]+'})")
    literal = len(parts) - len(names)
    pattern = re.compile("/" + "/".join(parts) if parts != [""] else "/")
    # API Gateway prefers the most specific route: literal segments over variables over
    # greedy variables.
    return _CompiledRoute(route, pattern, tuple(names), (-greedy, literal, -len(names)))


class Router:
    def __init__(self, routes: list[Route]) -> None:
        compiled = [_compile(r) for r in routes]
        self._routes = sorted(compiled, key=lambda c: c.specificity, reverse=True)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        candidates: list[tuple[_CompiledRoute, dict[str, str]]] = []
        for compiled in self._routes:
            if compiled.pattern is None:
                candidates.append((compiled, {}))
                continue
            found = compiled.pattern.fullmatch(path)
            if found:
                params = {n: unquote(found.group(f"p{i}")) for i, n in enumerate(compiled.names)}
                candidates.append((compiled, params))
        if not candidates:
            raise GatewayError(HTTPStatus.NOT_FOUND, f"no route matches {path}")
        for compiled, params in candidates:
            if compiled.route.method in (method, "ANY"):
                return compiled.route, params
        allowed = sorted({c.route.method for c, _ in candidates})
        raise GatewayError(
            HTTPStatus.METHOD_NOT_ALLOWED,
            f"{method} is not allowed on {path}; allowed: {', '.join(allowed)}",
            {"Allow": ", ".join(allowed)},
        )


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str


def _claims_for_event(claims: Mapping[str, Any]) -> dict[str, Any]:
    # API Gateway hands claims over as strings; lists stay lists here (it would flatten
    # them to "[a b]") because handlers accept both shapes.
    return {k: v if isinstance(v, list) else str(v) for k, v in claims.items()}


def _token_scopes(claims: Mapping[str, Any]) -> list[str] | None:
    if isinstance(claims.get("scope"), str):
        return claims["scope"].split()
    if isinstance(claims.get("scp"), list):
        return [str(s) for s in claims["scp"]]
    return None


def build_event(
    request: IncomingRequest,
    route: Route,
    path_parameters: dict[str, str],
    claims: Mapping[str, Any] | None,
    account_id: str,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event."""
    split = urlsplit(request.target)
    raw_path = split.path or "/"
    headers, cookies = _headers_and_cookies(request.headers)
    domain = _forwarded(headers, request.source_ip)
    query = _joined_query(split.query)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": split.query,
        "headers": headers,
        "requestContext": _request_context(request, route, raw_path, headers, domain, account_id),
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if claims is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": _claims_for_event(claims), "scopes": _token_scopes(claims)}
        }
    if request.body:
        event.update(_body_fields(request.body))
    return event


def _headers_and_cookies(raw: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Lower-cased headers, repeats joined with commas; Cookie headers become `cookies`."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in raw:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    return headers, cookies


def _forwarded(headers: dict[str, str], source_ip: str) -> str:
    """Adds the X-Forwarded-* headers API Gateway sets; returns the domain name."""
    host = headers.get("host", "127.0.0.1")
    headers.setdefault("x-forwarded-for", source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    if ":" in host:
        headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1])
    return host.rsplit(":", 1)[0] if ":" in host else host


def _joined_query(query_string: str) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    return query


def _request_context(
    request: IncomingRequest,
    route: Route,
    raw_path: str,
    headers: dict[str, str],
    domain: str,
    account_id: str,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "accountId": account_id,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".", maxsplit=1)[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex[:16],
        "routeKey": route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }


def _body_fields(body: bytes) -> dict[str, Any]:
    """The body as text, or base64 with `isBase64Encoded` when it is not UTF-8."""
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """The HTTP response API Gateway derives from a handler's format 2.0 result."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Without a statusCode, API Gateway treats the whole result as a JSON body.
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        joined = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        headers.append((str(name), joined))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(c)) for c in result.get("cookies") or [])
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise TypeError(f"the handler returned a {type(body).__name__} body; it must be a string")
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(body)
    else:
        payload = body.encode("utf-8")
    headers = [(n, v) for n, v in headers if n.lower() not in _HOP_BY_HOP]
    return int(result["statusCode"]), headers, payload


JobRunner = Callable[[str, datetime], Any]
LabelsExport = Callable[[], str]
# The stored history at a moment, as {"events": [...], "labels": [...]}.
HistoryExport = Callable[[datetime], dict[str, Any]]
# (request document, the caller's subject) -> the answer document; raises GatewayError.
ModelControl = Callable[[Any, str], dict[str, Any]]
# (status, headers, body, what answered: a function's logical id, "job:<name>" or "-")
Answer = tuple[int, list[tuple[str, str]], bytes, str]
Authorizer = Callable[[str], dict[str, Any]]


class Gateway:
    """Serves the routes on 127.0.0.1:port; `bind` first so a busy port fails fast."""

    def __init__(self, routes: list[Route], authorize: Authorizer) -> None:
        self._router = Router(routes)
        self._authorize = authorize
        self._account_id = ""
        self._functions: Mapping[str, LocalFunction] = {}
        self._run_job: JobRunner | None = None
        self._export_labels: LabelsExport | None = None
        self._model_control: ModelControl | None = None
        self.export_history: HistoryExport | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._idle = threading.Condition()

    def bind(self, port: int) -> int:
        gateway = self

        class _Handler(_RequestHandler):
            owner = gateway

        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        return int(self._server.server_address[1])

    def start(
        self,
        functions: Mapping[str, LocalFunction],
        run_job: JobRunner,
        account_id: str,
        export_labels: LabelsExport | None = None,
        model_control: ModelControl | None = None,
    ) -> None:
        if self._server is None:
            raise RuntimeError("bind() the gateway before starting it")
        self._account_id = account_id
        self._functions = functions
        self._run_job = run_job
        self._export_labels = export_labels
        self._model_control = model_control
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="gateway", daemon=True
        )
        self._thread.start()

    def stop(self, grace_s: float = 10.0) -> None:
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
        self._server = None
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=grace_s)

    # Request handling, called from the server's per-connection threads.

    def handle(self, request: IncomingRequest) -> Answer:
        """(status, headers, body, function or "-") for one request; never raises."""
        with self._idle:
            self._in_flight += 1
        try:
            return self._handle(request)
        except GatewayError as error:
            headers = [("Content-Type", "application/problem+json"), *error.headers.items()]
            return int(error.status), headers, problem(error.status, error.detail), "-"
        except Exception:
            logger.exception("the gateway failed on %s %s", request.method, request.target)
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            detail = "the local gateway failed; see the stack's log"
            return (
                int(status),
                [("Content-Type", "application/problem+json")],
                problem(status, detail),
                "-",
            )
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _handle(self, request: IncomingRequest) -> Answer:
        path = urlsplit(request.target).path or "/"
        if path.startswith(CONTROL_PREFIX):
            return self._control(request, path)
        route, params = self._router.match(request.method, path)
        claims = self._check_token(request, route.scopes) if route.authorized else None
        function = self._functions[route.function]
        event = build_event(request, route, params, claims, self._account_id)
        try:
            status, headers, body = http_response(function.invoke(event))
        except Exception:
            logger.exception("%s failed handling %s", route.function, route.route_key)
            raise GatewayError(
                HTTPStatus.INTERNAL_SERVER_ERROR, f"{route.function} failed; see the stack's log"
            ) from None
        return status, headers, body, route.function

    def _check_token(self, request: IncomingRequest, scopes: tuple[str, ...]) -> dict[str, Any]:
        header = next((v for n, v in request.headers if n.lower() == "authorization"), "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GatewayError(
                HTTPStatus.UNAUTHORIZED, "an 'Authorization: Bearer <token>' header is required"
            )
        try:
            claims = self._authorize(token.strip())
        except InvalidTokenError as exc:
            raise GatewayError(HTTPStatus.UNAUTHORIZED, str(exc)) from None
        if scopes and not set(scopes) & set(_token_scopes(claims) or []):
            raise GatewayError(
                HTTPStatus.FORBIDDEN, f"the token has none of the scopes {', '.join(scopes)}"
            )
        return claims

    def _labels_export(self, request: IncomingRequest) -> Answer:
        if request.method != "POST":
            raise GatewayError(
                HTTPStatus.METHOD_NOT_ALLOWED, "labels are exported with POST", {"Allow": "POST"}
            )
        _admin_only(self, request, "exporting labels")
        if self._export_labels is None:
            raise GatewayError(HTTPStatus.SERVICE_UNAVAILABLE, "the stack is not running")
        body = self._export_labels().encode()
        return 200, [("Content-Type", "application/x-ndjson")], body, "labels-export"

    def _history_export(self, request: IncomingRequest) -> Answer:
        if request.method != "POST":
            raise GatewayError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "the history is exported with POST",
                {"Allow": "POST"},
            )
        _admin_only(self, request, "exporting the history")
        if self.export_history is None:
            raise GatewayError(HTTPStatus.SERVICE_UNAVAILABLE, "the stack is not running")
        body = json.dumps(self.export_history(_requested_now(request.body))).encode()
        return 200, [("Content-Type", "application/json")], body, "history-export"

    def _model(self, request: IncomingRequest) -> Answer:
        if request.method != "POST":
            raise GatewayError(
                HTTPStatus.METHOD_NOT_ALLOWED, "the model is chosen with POST", {"Allow": "POST"}
            )
        claims = self._check_token(request, ())
        if "admin" not in (claims.get("roles") or []):
            raise GatewayError(HTTPStatus.FORBIDDEN, "choosing the model needs role admin")
        if self._model_control is None:
            raise GatewayError(HTTPStatus.SERVICE_UNAVAILABLE, "the stack is not running")
        try:
            document = json.loads(request.body or b"{}")
        except ValueError:
            raise GatewayError(HTTPStatus.BAD_REQUEST, "the body must be JSON") from None
        answer = self._model_control(document, str(claims.get("sub") or "local-cli"))
        return 200, [("Content-Type", "application/json")], json.dumps(answer).encode(), "model"

    def _control(self, request: IncomingRequest, path: str) -> Answer:
        if request.source_ip != "127.0.0.1":
            raise GatewayError(HTTPStatus.FORBIDDEN, "the control endpoints answer loopback only")
        json_headers = [("Content-Type", "application/json")]
        if path == f"{CONTROL_PREFIX}health" and request.method == "GET":
            return 200, json_headers, b'{"status": "ok"}', "-"
        answering = {
            "labels-export": self._labels_export,
            "history-export": self._history_export,
            "model": self._model,
        }.get(path[len(CONTROL_PREFIX) :])
        if answering is not None:
            return answering(request)
        found = re.fullmatch(rf"{CONTROL_PREFIX}jobs/([^/]+)", path)
        if not found:
            raise GatewayError(HTTPStatus.NOT_FOUND, f"no control endpoint {path}")
        if request.method != "POST":
            raise GatewayError(
                HTTPStatus.METHOD_NOT_ALLOWED, "jobs are run with POST", {"Allow": "POST"}
            )
        claims = self._check_token(request, ())
        if "admin" not in (claims.get("roles") or []):
            raise GatewayError(HTTPStatus.FORBIDDEN, "running a job needs a token with role admin")
        now = _requested_now(request.body)
        job = unquote(found.group(1))
        if self._run_job is None:
            raise GatewayError(HTTPStatus.SERVICE_UNAVAILABLE, "the stack is not running jobs")
        try:
            result = self._run_job(job, now)
        except UnknownJobError as exc:
            raise GatewayError(HTTPStatus.NOT_FOUND, str(exc)) from None
        except Exception as exc:
            logger.exception("job %s failed", job)
            raise GatewayError(
                HTTPStatus.INTERNAL_SERVER_ERROR, f"job {job} failed: {type(exc).__name__}: {exc}"
            ) from None
        return 200, json_headers, json.dumps(result, default=str).encode(), f"job:{job}"


def _admin_only(gateway: Gateway, request: IncomingRequest, action: str) -> None:
    claims = gateway._check_token(request, ())
    if "admin" not in (claims.get("roles") or []):
        raise GatewayError(HTTPStatus.FORBIDDEN, f"{action} needs a token with role admin")


def _requested_now(body: bytes) -> datetime:
    if not body.strip():
        return datetime.now(UTC)
    try:
        document = json.loads(body)
    except ValueError:
        raise GatewayError(HTTPStatus.BAD_REQUEST, "the body must be JSON") from None
    if not isinstance(document, dict) or set(document) - {"now"}:
        raise GatewayError(HTTPStatus.UNPROCESSABLE_ENTITY, 'the body is {"now": "<ISO 8601 Z>"}')
    if "now" not in document:
        return datetime.now(UTC)
    try:
        return parse_instant(document["now"])
    except ValueError as exc:
        raise GatewayError(HTTPStatus.UNPROCESSABLE_ENTITY, f"now: {exc}") from None


class _RequestHandler(BaseHTTPRequestHandler):
    owner: Gateway
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, the body waited for the
    # client's delayed ACK of the headers: ~40 ms added to every keep-alive response.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "rewards-local-gateway"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)

    def _dispatch(self) -> None:
        started = time.monotonic()
        try:
            body = self._read_body()
        except GatewayError as error:
            # Part of the body may still be on the socket: answer, then drop the connection.
            self.close_connection = True
            headers = [("Content-Type", "application/problem+json"), ("Connection", "close")]
            self._write(int(error.status), headers, problem(error.status, error.detail))
            self._log_access(int(error.status), "-", started)
            return
        request = IncomingRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        status, headers, payload, function = self.owner.handle(request)
        self._write(status, headers, payload)
        self._log_access(status, function, started)

    def _read_body(self) -> bytes:
        too_large = GatewayError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body exceeds {MAX_BODY_BYTES} bytes"
        )
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise too_large
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise GatewayError(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if length > MAX_BODY_BYTES:
            if length <= _DISCARD_LIMIT:
                self.rfile.read(length)
            raise too_large
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _log_access(self, status: int, function: str, started: float) -> None:
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.info("%s %s -> %d %s %.0f ms", self.command, self.path, status, function, elapsed_ms)

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch
    do_HEAD = _dispatch
    do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method without a do_<METHOD> (TRACE, QUERY, ...) itself,
        # with a 501 HTML page; routed like the others, it gets the 405 problem document.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)
