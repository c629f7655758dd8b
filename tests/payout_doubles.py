"""Payout-provider test doubles: recorded HTTP exchanges and an in-memory PayPal index.

They live with the tests, not in the shipped package: the functions never replay
recordings, and in AWS the PayPal reference index is the table's.
"""

from __future__ import annotations

import copy
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.clock import Clock, SystemClock
from shared.payouts.http import (
    DEFAULT_RETRY_AFTER_SECONDS,
    HttpResponse,
    canonical_json,
    decode_json,
    encode_json,
    raise_for_transient_status,
)
from shared.payouts.port import ProviderTimeout, ProviderUnavailable


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


class InMemoryReferenceIndex:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def remember(self, idempotency_key: str, payout_batch_id: str, created_at: datetime) -> None:
        with self._lock:
            self._entries.setdefault(idempotency_key, (payout_batch_id, created_at))

    def reference_for(self, idempotency_key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(idempotency_key)
        return entry[0] if entry else None

    def references_since(self, since: datetime) -> list[str]:
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda entry: entry[1])
        return [reference for reference, created_at in entries if created_at >= since]
