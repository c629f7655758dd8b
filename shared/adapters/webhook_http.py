"""Posting webhook deliveries without letting a URL reach inside the network (SSRF).

`UrlPolicy.target(url)` is the one check, made at registration and again before every
attempt: in AWS only `https` URLs, without credentials, whose host resolves to public
addresses only (every address it resolves to is checked: none may be private, loopback,
link-local, multicast, reserved, unspecified, shared, or an IPv6 form that embeds such an
IPv4 address). `GuardedSender` then connects to one of the addresses it checked, never
resolving the name again (so a DNS answer that changes between check and connect, as in
DNS rebinding, cannot move the connection), with the name in the Host header and in TLS
SNI and certificate verification. Redirects are not followed: a 3xx is a failed attempt.

On the local stack (`allow_loopback_http`) plain `http://127.0.0.1:<port>` is allowed too,
so a receiver on this machine can be the target; nothing else private is, and no name is
resolved (an https URL must name a public address itself).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.services.webhooks import DeliveryFailed, UnsafeUrl

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

LOOPBACK_HOST = "127.0.0.1"
TIMEOUT_S = 10.0
# The answer's body is read only this far (the status is what counts).
ANSWER_BYTES = 4096
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def _embedded(address: IpAddress) -> IpAddress | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IpAddress) -> str | None:
    """Why deliveries may not reach `address`; None for a public address."""
    inner = _embedded(address)
    if inner is not None:
        reason = refusal(inner)
        return f"embeds {inner}, which is {reason}" if reason else None
    for name, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return name
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared (carrier-grade NAT)"
    if not address.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to one of `addresses`, naming `host`."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


class UrlPolicy:
    def __init__(self, *, allow_loopback_http: bool = False, resolver: Resolver = resolve) -> None:
        self._allow_loopback_http = allow_loopback_http
        self._resolve = resolver

    def check(self, url: str) -> None:
        self.target(url)

    def target(self, url: str) -> Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise UnsafeUrl(f"is not a valid URL ({exc})") from None
        host = parts.hostname
        if not host or parts.scheme not in ("https", "http"):
            raise UnsafeUrl("must be an absolute https URL")
        if parts.username is not None or parts.password is not None:
            raise UnsafeUrl("must not carry credentials")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "http":
            if not (self._allow_loopback_http and host == LOOPBACK_HOST):
                raise UnsafeUrl("must use https")
            return Target("http", host, port or 80, path, (LOOPBACK_HOST,))
        port = port or 443
        return Target("https", host, port, path, self._public_addresses(host, port))

    def _public_addresses(self, host: str, port: int) -> tuple[str, ...]:
        try:
            found = [ipaddress.ip_address(host)]
        except ValueError:
            if self._allow_loopback_http:
                # This machine has no network to deliver to, and resolving whatever name
                # a caller sends would make the stack query the DNS on its behalf.
                raise UnsafeUrl(
                    "the local stack resolves no names: use http://127.0.0.1:<port>"
                ) from None
            try:
                found = [
                    ipaddress.ip_address(a.split("%", 1)[0]) for a in self._resolve(host, port)
                ]
            except (OSError, ValueError):
                raise UnsafeUrl(f"host {host} does not resolve") from None
        if not found:
            raise UnsafeUrl(f"host {host} does not resolve")
        for address in found:
            reason = refusal(address)
            if reason is not None:
                raise UnsafeUrl(f"resolves to {address}, which is {reason}")
        return tuple(str(address) for address in found)


class _PinnedHttp(http.client.HTTPConnection):
    """HTTP to a checked address, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHttps(http.client.HTTPSConnection):
    """TLS to a checked address, with the URL's host as SNI and the certificate's name."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


class GuardedSender:
    def __init__(self, policy: UrlPolicy, timeout_s: float = TIMEOUT_S) -> None:
        self._policy = policy
        self._timeout_s = timeout_s
        self._tls = ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        target = self._policy.target(url)
        last: Exception | None = None
        for address in target.addresses:
            connection = self._connection(target, address)
            try:
                connection.request("POST", target.path, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read(ANSWER_BYTES)
                return answer.status
            except (OSError, http.client.HTTPException) as exc:
                last = exc
            finally:
                connection.close()
        raise DeliveryFailed(f"{type(last).__name__}: {last}" if last else "no address to try")

    def _connection(self, target: Target, address: str) -> http.client.HTTPConnection:
        if target.scheme == "http":
            return _PinnedHttp(target.host, target.port, address, self._timeout_s)
        return _PinnedHttps(target.host, target.port, address, self._timeout_s, self._tls)
