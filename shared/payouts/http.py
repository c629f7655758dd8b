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

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
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
