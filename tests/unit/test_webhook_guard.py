"""Webhook targets: only public https in AWS, checked on every address a name resolves to,
at registration and again at connect time, connecting to the address that was checked."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import pytest

from shared.adapters.webhook_http import GuardedSender, UrlPolicy, _PinnedHttp
from shared.services.webhooks import UnsafeUrl

PUBLIC = "93.184.216.34"


def resolver(*answers: list[str]) -> tuple[list[str], Callable[[str, int], list[str]]]:
    """A resolver that gives each answer in turn (the last one from then on)."""
    asked: list[str] = []
    queue = list(answers)

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return asked, resolve


def aws(*answers: list[str]) -> UrlPolicy:
    return UrlPolicy(resolver=resolver(*answers)[1])


def test_a_public_https_url_is_accepted() -> None:
    target = aws([PUBLIC]).target("https://hooks.merchant.example/rewards?x=1")

    assert (target.scheme, target.host, target.port) == ("https", "hooks.merchant.example", 443)
    assert target.path == "/rewards?x=1" and target.addresses == (PUBLIC,)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.merchant.example/rewards",
        "http://127.0.0.1:8080/hook",
        "ftp://hooks.merchant.example/",
        "hooks.merchant.example/rewards",
        "https://user:pass@hooks.merchant.example/",
        "https://hooks.merchant.example:99999/",
    ],
)
def test_in_aws_only_plain_https_urls_are_accepted(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        aws([PUBLIC]).check(url)


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::",
    ],
)
def test_a_name_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(UnsafeUrl, match="resolves to"):
        aws([address]).check("https://hooks.merchant.example/")


@pytest.mark.parametrize("literal", ["10.0.0.5", "[::1]", "[fe80::1]", "169.254.169.254"])
def test_a_non_public_address_written_in_the_url_is_refused(literal: str) -> None:
    with pytest.raises(UnsafeUrl):
        aws([PUBLIC]).check(f"https://{literal}/hook")


def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    with pytest.raises(UnsafeUrl, match=r"10\.1\.2\.3"):
        aws([PUBLIC, "10.1.2.3"]).check("https://hooks.merchant.example/")


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def fails(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(UnsafeUrl, match="does not resolve"):
        UrlPolicy(resolver=fails).check("https://nowhere.merchant.example/")


def test_locally_only_plain_http_to_127_0_0_1_is_added() -> None:
    local = UrlPolicy(allow_loopback_http=True, resolver=resolver([PUBLIC])[1])

    assert local.target("http://127.0.0.1:8080/hook").addresses == ("127.0.0.1",)
    for refused in ("http://localhost:8080/", "http://10.0.0.5/", "https://127.0.0.1/"):
        with pytest.raises(UnsafeUrl):
            local.check(refused)


def test_locally_no_name_is_resolved() -> None:
    asked, resolve = resolver([PUBLIC])
    local = UrlPolicy(allow_loopback_http=True, resolver=resolve)

    with pytest.raises(UnsafeUrl, match="resolves no names"):
        local.check("https://hooks.merchant.example/")
    assert asked == []


def test_a_name_rebound_to_a_private_address_after_registration_is_refused_at_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a name that resolved to a public address when it was registered
    asked, resolve = resolver([PUBLIC], ["169.254.169.254"])
    policy = UrlPolicy(resolver=resolve)
    policy.check("https://hooks.merchant.example/")
    connected: list[object] = []

    def connect(*args: object, **kwargs: object) -> None:
        connected.append(args)
        raise OSError("refused")

    monkeypatch.setattr("socket.create_connection", connect)

    # When a delivery resolves it again and gets the metadata address
    with pytest.raises(UnsafeUrl, match=r"169\.254\.169\.254"):
        GuardedSender(policy).post("https://hooks.merchant.example/", b"{}", {})

    # Then nothing was connected to
    assert connected == [] and asked == ["hooks.merchant.example"] * 2


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Recorder.seen.append((self.path, self.headers["Host"], body))
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen = []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_connection_goes_to_the_checked_address_naming_the_host(receiver: int) -> None:
    connection = _PinnedHttp("hooks.merchant.example", receiver, "127.0.0.1", timeout=5)
    try:
        connection.request("POST", "/hook", body=b"{}", headers={})
        connection.getresponse().read()
    finally:
        connection.close()

    assert _Recorder.seen == [("/hook", f"hooks.merchant.example:{receiver}", b"{}")]


def test_a_redirect_is_not_followed_and_counts_as_the_answer(receiver: int) -> None:
    sender = GuardedSender(UrlPolicy(allow_loopback_http=True))

    status = sender.post(f"http://127.0.0.1:{receiver}/hook", b"{}", {})

    assert status == 302 and [path for path, _, _ in _Recorder.seen] == ["/hook"]
