"""A whole flow on the local stack leaves no personal value in any log line."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.local.dev_tokens import mint_token
from tests.support import program_body, unique

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "advocate_email": "ann.secret@shop.example",
    "referee_email": "bo.secret@mail.example",
    "advocate_ip": "198.51.100.77",
    "referee_ip": "203.0.113.55",
    "advocate_device": "dev-secret-4242",
    "referee_device": "dev-secret-5353",
    "user_agent": "SecretBrowser/9.9",
    "card": "fp-secret-6464",
}


@pytest.fixture(scope="module")
def logged_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`rewards serve` in its own process, everything it prints kept in a file."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("logged")
    log = folder / "stack.log"
    serve = ["serve", "--port", str(port), "--state-dir", str(folder / "state")]
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", *serve],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process)
            yield url, log
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the stack exited"
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/_local/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise AssertionError("the stack did not start")


def _call(url: str, method: str, path: str, roles: list[str], body: Any = None) -> Any:
    token = mint_token(roles, "log-check", root=ROOT)
    answer = requests.request(
        method, url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert answer.status_code < 300, (path, answer.status_code, answer.text)
    return answer.json()


def _wait_for(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def _flow(url: str) -> None:
    program = _call(url, "POST", "/v1/programs", ["admin"], program_body(holding_period_days=0))
    program_id = program["program_id"]
    advocate = _call(
        url,
        "POST",
        f"/v1/programs/{program_id}/advocates",
        ["client"],
        {
            "customer_id": unique("adv"),
            "email": SECRETS["advocate_email"],
            "context": {
                "ip": SECRETS["advocate_ip"],
                "device_id": SECRETS["advocate_device"],
                "user_agent": SECRETS["user_agent"],
            },
        },
    )
    referral = _call(
        url,
        "POST",
        "/v1/referrals",
        ["client"],
        {
            "program_id": program_id,
            "referral_code": advocate["referral_code"],
            "referee": {"customer_id": unique("ref"), "email": SECRETS["referee_email"]},
            "context": {"ip": SECRETS["referee_ip"], "device_id": SECRETS["referee_device"]},
        },
    )
    referral_id = referral["referral_id"]
    order = unique("order")
    _call(
        url,
        "POST",
        f"/v1/referrals/{referral_id}/events",
        ["client"],
        {
            "type": "purchase",
            "order_id": order,
            "amount": "45.00",
            "currency": "USD",
            "payment_fingerprint": SECRETS["card"],
        },
    )
    read = f"/v1/referrals/{referral_id}"
    _wait_for(lambda: _call(url, "GET", read, ["finance"]).get("risk"))
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for job in ("release", "reconcile"):
        _call(url, "POST", f"/_local/jobs/{job}", ["admin"], {"now": later})
    refund = {"order_id": order, "amount": "45.00", "currency": "USD"}
    _call(url, "POST", f"/v1/referrals/{referral_id}/refunds", ["client"], refund)


def test_a_whole_flow_logs_no_email_ip_device_or_card(logged_stack: tuple[str, Path]) -> None:
    # Given a stack whose every log line is kept
    url, log = logged_stack
    # When a referral goes through intake, scoring, release, reconcile and a refund
    _flow(url)
    time.sleep(2)  # the queue functions' last lines
    text = log.read_text()
    # Then the logs say what happened, and no personal value is in them
    assert "referral recorded" in text
    leaked = {name: value for name, value in SECRETS.items() if value in text}
    assert leaked == {}
