"""HTTP for provider adapters: a tiny transport port, a stdlib implementation, a replayer.

The transport turns the failures every provider shares into the port's errors, so
adapters only interpret the answers that mean something for their API:

- 429 -> `ProviderRateLimited` with `Retry-After` (delay-seconds or an HTTP date);
- 5xx, a refused or dropped connection -> `ProviderUnavailable` (the order MAY exist);
- no answer in time, or 408 -> `ProviderTimeout` (same ambiguity);
- anything else is returned as an `HttpResponse` for the adapter to read.

JSON bodies go through `encode_json`/`decode_json`: non-integral numbers decode to
`Decimal`, a `Decimal` encodes as the exact number it holds ("10.00" stays 10.00),
and a float is refused outright so money can never pass through binary floating point.
"""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

from shared.clock import Clock, SystemClock
from shared.payouts.port import ProviderRateLimited, ProviderTimeout, ProviderUnavailable

DEFAULT_RETRY_AFTER_SECONDS = 1.0


@dataclass(frozen=True)
class HttpResponse:
    """A provider's answer. Header names are lower-case; `json` is None without a JSON body."""

    status: int
    headers: Mapping[str, str]
    json: Any
    text: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class HttpTransport(Protocol):
    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: Any = None,
        form_body: Mapping[str, str] | None = None,
        timeout: float,
    ) -> HttpResponse:
        """Send one request. Raises the port's transient errors (see module doc)."""
        ...


# --- JSON with exact decimals -------------------------------------------------------


def encode_json(value: Any, *, sort_keys: bool = False) -> str:
    """JSON text in which a `Decimal` is written digit for digit; floats are refused."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} as a JSON number")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats are not allowed in provider bodies; use Decimal or str")
    if isinstance(value, Mapping):
        items = sorted(value.items()) if sort_keys else list(value.items())
        members = (
            f"{json.dumps(str(key))}:{encode_json(member, sort_keys=sort_keys)}"
            for key, member in items
        )
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode_json(item, sort_keys=sort_keys) for item in value) + "]"
    return json.dumps(value)


def decode_json(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def canonical_json(value: Any) -> str:
    """One spelling per JSON value, for comparing bodies exactly."""
    return encode_json(value, sort_keys=True)


# --- shared status handling ---------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime, default: float) -> float:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP date."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        return default
    return max(0.0, (when - now).total_seconds())


def raise_for_transient_status(
    response: HttpResponse, *, what: str, now: datetime, default_retry_after: float
) -> None:
    """Raise the port error for statuses every provider means the same way."""
    if response.status == 429:
        retry_after = parse_retry_after(
            response.header("retry-after"), now=now, default=default_retry_after
        )
        raise ProviderRateLimited(retry_after, f"{what} rate limited")
    if response.status == 408:
        raise ProviderTimeout(f"{what} answered 408 Request Timeout")
    if 500 <= response.status <= 599:
        raise ProviderUnavailable(f"{what} answered {response.status}")


def _response_from(status: int, headers: Mapping[str, str], body: bytes) -> HttpResponse:
    text = body.decode("utf-8", errors="replace")
    try:
        payload = decode_json(text) if text.strip() else None
    except ValueError:
        payload = None  # an HTML error page from a proxy, say: keep the text only
    return HttpResponse(status, {k.lower(): v for k, v in headers.items()}, payload, text)


def _encode_body(
    headers: Mapping[str, str], json_body: Any, form_body: Mapping[str, str] | None
) -> tuple[dict[str, str], bytes | None]:
    if json_body is not None and form_body is not None:
        raise ValueError("send either a JSON body or a form body, not both")
    sent = dict(headers)
    if json_body is not None:
        sent.setdefault("Content-Type", "application/json")
        return sent, encode_json(json_body).encode()
    if form_body is not None:
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return sent, urllib.parse.urlencode(form_body).encode()
    return sent, None


# --- stdlib transport ---------------------------------------------------------------


class UrllibTransport:
    """`HttpTransport` over `urllib.request`: no dependency beyond the standard library."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        default_retry_after_seconds: float = DEFAULT_RETRY_AFTER_SECONDS,
        user_agent: str = "referral-rewards-payouts/1",
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self._default_retry_after = default_retry_after_seconds
        self._user_agent = user_agent

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: Any = None,
        form_body: Mapping[str, str] | None = None,
        timeout: float,
    ) -> HttpResponse:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("https", "http"):
            raise ValueError(f"refusing a {scheme!r} URL for a provider call")
        sent_headers, data = _encode_body(headers, json_body, form_body)
        sent_headers.setdefault("Accept", "application/json")
        sent_headers.setdefault("User-Agent", self._user_agent)
        what = f"{method} {url}"
        # The scheme was checked above: only http(s) reaches Request and urlopen.
        request = urllib.request.Request(  # noqa: S310
            url, data=data, headers=sent_headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310  # nosec B310
                response = _response_from(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            with error:
                response = _response_from(error.code, dict(error.headers), error.read())
        except TimeoutError as error:
            raise ProviderTimeout(f"{what} timed out after {timeout:g}s") from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise ProviderTimeout(f"{what} timed out after {timeout:g}s") from error
            raise ProviderUnavailable(f"{what} failed: {error.reason}") from error
        except OSError as error:  # reset, refused, TLS failure, remote disconnect
            raise ProviderUnavailable(f"{what} failed: {error}") from error
        raise_for_transient_status(
            response,
            what=what,
            now=self._clock.now(),
            default_retry_after=self._default_retry_after,
        )
        return response


# --- recorded exchanges for tests ---------------------------------------------------


class RecordedMismatch(AssertionError):
    """The code under test sent a request the recording does not contain."""


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    url: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json_body: Any
    form_body: dict[str, str] | None


@dataclass
class _Exchange:
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    used: bool = field(default=False)


class RecordedTransport:
    """Replays recorded exchanges and checks that the requests are the recorded ones.

    A recording is `{"exchanges": [{"request": {...}, "response": {...}}, ...]}`.
    A request picks the first unused exchange with the same method, path and query;
    the recorded `json` or `form` body must then equal the sent one exactly (numbers
    compared digit for digit), and every recorded header must be present with that
    value. A response is `{"status", "headers", "json"}`, or `{"raise": "timeout"}` /
    `{"raise": "connection_error"}` for a call that never got an answer.
    """

    def __init__(
        self,
        exchanges: Sequence[Mapping[str, Any]],
        *,
        clock: Clock | None = None,
        default_retry_after_seconds: float = DEFAULT_RETRY_AFTER_SECONDS,
    ) -> None:
        self._exchanges = [_Exchange(e["request"], e["response"]) for e in exchanges]
        self._clock: Clock = clock or SystemClock()
        self._default_retry_after = default_retry_after_seconds
        self.received: list[ReceivedRequest] = []

    @classmethod
    def from_files(cls, *paths: str | Path, **options: Any) -> RecordedTransport:
        exchanges: list[Mapping[str, Any]] = []
        for path in paths:
            exchanges.extend(decode_json(Path(path).read_text(encoding="utf-8"))["exchanges"])
        return cls(exchanges, **options)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: Any = None,
        form_body: Mapping[str, str] | None = None,
        timeout: float,
    ) -> HttpResponse:
        parts = urllib.parse.urlsplit(url)
        received = ReceivedRequest(
            method=method,
            url=url,
            path=parts.path,
            query=dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in headers.items()},
            json_body=copy.deepcopy(json_body),
            form_body=dict(form_body) if form_body is not None else None,
        )
        self.received.append(received)
        exchange = self._match(received)
        exchange.used = True
        self._check_body(exchange.request, received)
        return self._answer(exchange.response, f"{method} {url}", timeout)

    def unused(self) -> list[Mapping[str, Any]]:
        return [e.request for e in self._exchanges if not e.used]

    def assert_all_used(self) -> None:
        left = [f"{r['method']} {r['path']}" for r in self.unused()]
        if left:
            raise RecordedMismatch(f"recorded requests never sent: {left}")

    def _match(self, received: ReceivedRequest) -> _Exchange:
        for exchange in self._exchanges:
            recorded = exchange.request
            if (
                not exchange.used
                and recorded["method"] == received.method
                and recorded["path"] == received.path
                and {k: str(v) for k, v in recorded.get("query", {}).items()} == received.query
            ):
                return exchange
        raise RecordedMismatch(
            f"no recorded exchange left for {received.method} {received.path} "
            f"query={received.query}"
        )

    @staticmethod
    def _check_body(recorded: Mapping[str, Any], received: ReceivedRequest) -> None:
        where = f"{received.method} {received.path}"
        for name, value in recorded.get("headers", {}).items():
            sent = received.headers.get(name.lower())
            if sent != value:
                raise RecordedMismatch(f"{where}: header {name} was {sent!r}, recorded {value!r}")
        if "json" in recorded or received.json_body is not None:
            want = canonical_json(recorded.get("json"))
            got = canonical_json(received.json_body)
            if want != got:
                raise RecordedMismatch(
                    f"{where}: body differs\n sent:     {got}\n recorded: {want}"
                )
        has_form = "form" in recorded or received.form_body is not None
        if has_form and recorded.get("form") != received.form_body:
            raise RecordedMismatch(
                f"{where}: form differs: sent {received.form_body}, recorded {recorded.get('form')}"
            )

    def _answer(self, recorded: Mapping[str, Any], what: str, timeout: float) -> HttpResponse:
        failure = recorded.get("raise")
        if failure == "timeout":
            raise ProviderTimeout(f"{what} timed out after {timeout:g}s")
        if failure == "connection_error":
            raise ProviderUnavailable(f"{what} failed: connection reset")
        if failure is not None:
            raise ValueError(f"unknown recorded failure {failure!r}")
        body = copy.deepcopy(recorded.get("json"))
        response = HttpResponse(
            status=int(recorded["status"]),
            headers={k.lower(): str(v) for k, v in recorded.get("headers", {}).items()},
            json=body,
            text=encode_json(body) if body is not None else "",
        )
        raise_for_transient_status(
            response,
            what=what,
            now=self._clock.now(),
            default_retry_after=self._default_retry_after,
        )
        return response
