"""HTTP transport: exact JSON, status mapping over a real socket, the recording replayer."""

import contextlib
import http.server
import json
import socket
import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from shared.payouts.http import (
    UrllibTransport,
    decode_json,
    encode_json,
    parse_retry_after,
)
from shared.payouts.port import ProviderRateLimited, ProviderTimeout, ProviderUnavailable
from tests.payout_doubles import RecordedMismatch, RecordedTransport

from .fakes import START, clock_at_start

# --- JSON -------------------------------------------------------------------------


def test_decimals_are_encoded_digit_for_digit():
    assert encode_json({"value": Decimal("10.00")}) == '{"value":10.00}'


def test_floats_are_refused_in_bodies():
    with pytest.raises(TypeError):
        encode_json({"value": 10.0})


def test_non_integral_numbers_decode_to_exact_decimals():
    assert decode_json('{"denomination": 0.1}') == {"denomination": Decimal("0.1")}


# --- Retry-After ------------------------------------------------------------------


def test_retry_after_in_seconds():
    assert parse_retry_after("30", now=START, default=1.0) == 30.0


def test_retry_after_as_an_http_date_counts_from_the_injected_clock():
    later = START + timedelta(seconds=90)
    header = later.strftime("%a, %d %b %Y %H:%M:%S GMT")

    assert parse_retry_after(header, now=START, default=1.0) == 90.0


def test_retry_after_in_the_past_means_now():
    assert parse_retry_after("Thu, 01 Jan 2015 00:00:00 GMT", now=START, default=1.0) == 0.0


@pytest.mark.parametrize("header", [None, "", "soon"])
def test_missing_or_unreadable_retry_after_uses_the_default(header):
    assert parse_retry_after(header, now=START, default=2.5) == 2.5


# --- urllib transport against a local server --------------------------------------


class _ScriptedHandler(http.server.BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
    received: list[tuple[str, str, bytes]] = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append((self.command, self.path, self.rfile.read(length)))
        status, headers, body = self.answers[self.path]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format, *args):  # keep test output quiet
        pass


@pytest.fixture
def server_url():
    _ScriptedHandler.answers = {}
    _ScriptedHandler.received = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ScriptedHandler)
    # A short poll interval keeps shutdown fast; the server itself never waits.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_urllib_sends_exact_json_and_decodes_the_answer(server_url):
    base = server_url
    _ScriptedHandler.answers["/orders"] = (
        200,
        {"Content-Type": "application/json"},
        b'{"v": 1.50}',
    )

    response = UrllibTransport().request(
        "POST", base + "/orders", headers={}, json_body={"amount": Decimal("1.50")}, timeout=2
    )

    assert response.status == 200 and response.json == {"v": Decimal("1.50")}
    assert _ScriptedHandler.received == [("POST", "/orders", b'{"amount":1.50}')]


def test_urllib_maps_429_to_rate_limited_with_retry_after(server_url):
    base = server_url
    _ScriptedHandler.answers["/orders"] = (429, {"Retry-After": "7"}, b"{}")

    with pytest.raises(ProviderRateLimited) as raised:
        UrllibTransport(clock=clock_at_start()).request(
            "GET", base + "/orders", headers={}, timeout=2
        )

    assert raised.value.retry_after_seconds == 7.0


def test_urllib_maps_5xx_to_unavailable(server_url):
    base = server_url
    _ScriptedHandler.answers["/orders"] = (503, {"Content-Type": "text/html"}, b"<h1>down</h1>")

    with pytest.raises(ProviderUnavailable):
        UrllibTransport().request("GET", base + "/orders", headers={}, timeout=2)


def test_urllib_returns_other_4xx_for_the_adapter_to_read(server_url):
    base = server_url
    _ScriptedHandler.answers["/orders"] = (422, {}, json.dumps({"name": "X"}).encode())

    response = UrllibTransport().request("GET", base + "/orders", headers={}, timeout=2)

    assert response.status == 422 and response.json == {"name": "X"}


def test_urllib_maps_a_silent_server_to_timeout():
    # Given a socket that accepts connections but never answers
    with contextlib.closing(socket.socket()) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/orders"

        with pytest.raises(ProviderTimeout):
            UrllibTransport().request("GET", url, headers={}, timeout=0.05)


def test_urllib_maps_a_refused_connection_to_unavailable():
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes

    with pytest.raises(ProviderUnavailable):
        UrllibTransport().request("GET", f"http://127.0.0.1:{port}/", headers={}, timeout=1)


def test_urllib_refuses_non_http_urls():
    with pytest.raises(ValueError):
        UrllibTransport().request("GET", "file:///etc/passwd", headers={}, timeout=1)


# --- recorded transport -----------------------------------------------------------

EXCHANGE = {
    "request": {"method": "POST", "path": "/orders", "json": {"amount": Decimal("10.00")}},
    "response": {"status": 201, "json": {"id": "A1"}},
}


def test_recorded_transport_replays_a_matching_request():
    transport = RecordedTransport([EXCHANGE])

    response = transport.request(
        "POST", "https://x/orders", headers={}, json_body={"amount": Decimal("10.00")}, timeout=1
    )

    assert response.json == {"id": "A1"}
    transport.assert_all_used()


def test_recorded_transport_catches_an_amount_written_differently():
    # Given a recording of 10.00 / When 10.0 is sent / Then the mismatch is reported
    transport = RecordedTransport([EXCHANGE])

    with pytest.raises(RecordedMismatch, match="body differs"):
        transport.request(
            "POST", "https://x/orders", headers={}, json_body={"amount": Decimal("10.0")}, timeout=1
        )


def test_recorded_transport_refuses_a_request_it_has_no_recording_for():
    with pytest.raises(RecordedMismatch, match="no recorded exchange"):
        RecordedTransport([EXCHANGE]).request("GET", "https://x/other", headers={}, timeout=1)


def test_recorded_transport_reports_recordings_never_sent():
    with pytest.raises(RecordedMismatch, match="never sent"):
        RecordedTransport([EXCHANGE]).assert_all_used()


def test_recorded_timeout_raises_provider_timeout():
    transport = RecordedTransport(
        [{"request": {"method": "GET", "path": "/o"}, "response": {"raise": "timeout"}}]
    )

    with pytest.raises(ProviderTimeout):
        transport.request("GET", "https://x/o", headers={}, timeout=1)
