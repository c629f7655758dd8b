"""A load driver for the local stack: concurrent clients recording referrals over HTTP.

Each client repeats the cycle a customer's integration runs: record a referral, post the
purchase, then read the referral until the scoring consumer has put a risk on it. The
driver is bounded (clients, referrals, wall time) and only talks to a loopback address.

    result = run_load("http://127.0.0.1:3000", tokens_for(repo_root()), clients=8,
                      referrals_per_client=500)
    print(result.summary())

    python -m shared.local.load --clients 8 --referrals-per-client 500      # own stack
    python -m shared.local.load --url http://127.0.0.1:3000 ...             # running one

Its own stack is `rewards serve` in a child process, so the driver's threads do not
compete with the handlers for one interpreter lock.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

MAX_CLIENTS = 64
MAX_REFERRALS = 20_000
MAX_SECONDS = 1_800.0
WINDOW = 500
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Before the first read, and between reads of a referral not yet scored (doubling every
# two reads up to the cap). Scoring takes ~150 ms on an idle stack; each read costs the
# stack two table requests, and reads every 20 ms made half of all moto requests.
_FIRST_READ_AFTER_S = 0.1
_POLL_INTERVAL_S = 0.05
_POLL_INTERVAL_CAP_S = 0.4
_REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Tokens:
    admin: str
    client: str


@dataclass(frozen=True)
class LoadError:
    step: str  # program, advocate, referral, purchase, read, scoring
    status: int | None  # HTTP status; None when no answer came (timeout, connection)
    detail: str


@dataclass(frozen=True)
class LoadResult:
    """What a run did; rates are referrals scored per second of wall time."""

    count: int
    errors: list[LoadError]
    statuses: dict[int, int]
    elapsed_s: float
    rate_per_s: float
    first_window_rate_per_s: float
    last_window_rate_per_s: float
    window: int
    p50_cycle_s: float
    p99_cycle_s: float
    read_back_failures: list[str] = field(default_factory=list)

    @property
    def last_to_first_ratio(self) -> float:
        if self.first_window_rate_per_s == 0:
            return 0.0
        return self.last_window_rate_per_s / self.first_window_rate_per_s

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "last_to_first_ratio": self.last_to_first_ratio}

    def summary(self) -> str:
        return (
            f"{self.count} referrals scored in {self.elapsed_s:.1f} s: "
            f"{self.rate_per_s:.1f}/s overall, first {self.window} "
            f"{self.first_window_rate_per_s:.1f}/s, last {self.window} "
            f"{self.last_window_rate_per_s:.1f}/s (ratio {self.last_to_first_ratio:.2f}); "
            f"cycle p50 {self.p50_cycle_s * 1000:.0f} ms, p99 {self.p99_cycle_s * 1000:.0f} ms; "
            f"{len(self.errors)} error(s), {len(self.read_back_failures)} read-back failure(s); "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


def tokens_for(root: Path) -> Tokens:
    """Dev tokens accepted by local stacks of the checkout at `root`."""
    from shared.local.dev_tokens import mint_token

    return Tokens(
        admin=mint_token(["admin"], "load-admin", root=root),
        client=mint_token(["client"], "load-client", root=root),
    )


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def program_body(
    *, name: str = "Load run", budget: str = "10000000.00", cap: int | None = 1000
) -> dict[str, Any]:
    """The program a run refers to: $10 + $10 on a $20 purchase. By default its budget and
    cap are large enough that no referral of a bounded run is held for them; without a
    `cap` the program has no per-advocate cap."""
    body: dict[str, Any] = {
        "name": name,
        "qualifying_event": "purchase",
        "min_order_value": "20.00",
        "rewards": {
            "advocate": {"kind": "gift_card", "amount": "10.00", "currency": "USD"},
            "referee": {"kind": "cash", "amount": "10.00", "currency": "USD"},
        },
        "attribution_window_days": 30,
        "holding_period_days": 14,
        "budget": {"amount": budget, "currency": "USD"},
    }
    if cap is not None:
        body["per_advocate_cap"] = cap
    return body


def _context(number: int) -> dict[str, str]:
    return {
        "ip": f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}",
        "device_id": _unique("dev"),
        "country": "US",
    }


class _Recorder:
    """Errors, statuses and completions, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.errors: list[LoadError] = []
        self.statuses: Counter[int] = Counter()
        self.done_at: list[float] = []
        self.cycles: list[float] = []
        self.read_back_failures: list[str] = []

    def status(self, code: int) -> None:
        with self.lock:
            self.statuses[code] += 1

    def error(self, step: str, status: int | None, detail: str) -> None:
        with self.lock:
            self.errors.append(LoadError(step, status, detail[:300]))

    def done(self, started: float) -> None:
        now = time.monotonic()
        with self.lock:
            self.done_at.append(now)
            self.cycles.append(now - started)


class _Client:
    def __init__(self, base: str, token: str, recorder: _Recorder) -> None:
        self.base = base
        self.recorder = recorder
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, step: str, method: str, path: str, body: Any = None) -> Any | None:
        try:
            response = self.session.request(
                method, self.base + path, json=body, timeout=_REQUEST_TIMEOUT_S
            )
        except requests.RequestException as exc:
            self.recorder.error(step, None, f"{type(exc).__name__}: {exc}")
            return None
        self.recorder.status(response.status_code)
        if not 200 <= response.status_code < 300:
            self.recorder.error(step, response.status_code, response.text)
            return None
        return response.json()


def _setup(base: str, tokens: Tokens, advocates: int, recorder: _Recorder) -> tuple[str, list[str]]:
    admin = _Client(base, tokens.admin, recorder)
    program = admin.call("program", "POST", "/v1/programs", program_body())
    if program is None:
        raise RuntimeError(f"creating the program failed: {recorder.errors[-1]}")
    client = _Client(base, tokens.client, recorder)
    codes = []
    for number in range(advocates):
        customer = _unique("adv")
        body = {"customer_id": customer, "email": f"{customer}@example.com"}
        body["context"] = _context(number)  # type: ignore[assignment]
        enrolled = client.call(
            "advocate", "POST", f"/v1/programs/{program['program_id']}/advocates", body
        )
        if enrolled is None:
            raise RuntimeError(f"enrolling an advocate failed: {recorder.errors[-1]}")
        codes.append(enrolled["referral_code"])
    return program["program_id"], codes


def _cycle(
    client: _Client, program_id: str, code: str, number: int, scoring_timeout_s: float
) -> None:
    """One referral, its purchase, then reads until it is scored; checks what it reads."""
    started = time.monotonic()
    referee = _unique("ref")
    body = {
        "program_id": program_id,
        "referral_code": code,
        "referee": {"customer_id": referee, "email": f"{referee}@example.org"},
        "context": _context(1_000_000 + number),
    }
    created = client.call("referral", "POST", "/v1/referrals", body)
    if created is None:
        return
    referral_id = created["referral_id"]
    order_id = _unique("ord")
    purchase = {
        "type": "purchase",
        "order_id": order_id,
        "amount": "45.00",
        "currency": "USD",
        "payment_fingerprint": _unique("card"),
    }
    if client.call("purchase", "POST", f"/v1/referrals/{referral_id}/events", purchase) is None:
        return
    deadline = started + scoring_timeout_s
    time.sleep(_FIRST_READ_AFTER_S)
    reads = 0
    while True:
        read = client.call("read", "GET", f"/v1/referrals/{referral_id}")
        if read is None:
            return
        if read.get("risk"):
            break
        if time.monotonic() > deadline:
            client.recorder.error(
                "scoring", None, f"{referral_id} not scored in {scoring_timeout_s}s"
            )
            return
        time.sleep(min(_POLL_INTERVAL_CAP_S, _POLL_INTERVAL_S * 2 ** (reads // 2)))
        reads += 1
    client.recorder.done(started)
    problems = [
        f"{name} is {read.get(name)!r}"
        for name, expected in (("referral_code", code), ("qualifying_order_id", order_id))
        if read.get(name) != expected
    ]
    if (read.get("referee") or {}).get("customer_id") != referee:
        problems.append("the referee differs")
    if problems:
        with client.recorder.lock:
            client.recorder.read_back_failures.append(f"{referral_id}: {'; '.join(problems)}")


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _window_rates(started: float, done_at: list[float], window: int) -> tuple[float, float]:
    if len(done_at) < 2 * window or window == 0:
        return 0.0, 0.0
    ordered = sorted(done_at)
    first = window / max(ordered[window - 1] - started, 1e-9)
    last = window / max(ordered[-1] - ordered[-window - 1], 1e-9)
    return first, last


def _check_bounds(
    base_url: str, clients: int, referrals_per_client: int, max_seconds: float
) -> None:
    host = urlsplit(base_url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"the load driver only talks to loopback, not {host!r}")
    if not 1 <= clients <= MAX_CLIENTS:
        raise ValueError(f"clients must be 1..{MAX_CLIENTS}")
    if not 1 <= clients * referrals_per_client <= MAX_REFERRALS:
        raise ValueError(f"clients x referrals must be 1..{MAX_REFERRALS}")
    if not 0 < max_seconds <= MAX_SECONDS:
        raise ValueError(f"max_seconds must be in (0, {MAX_SECONDS}]")


def run_load(
    base_url: str,
    tokens: Tokens,
    *,
    clients: int = 8,
    referrals_per_client: int = 100,
    advocates: int = 0,
    max_seconds: float = 600.0,
    scoring_timeout_s: float = 60.0,
    window: int = WINDOW,
) -> LoadResult:
    """Create a program and advocates, then run `clients` threads of referral cycles.

    `advocates` defaults to one per 10 referrals; clients stop starting cycles once
    `max_seconds` have passed.
    """
    _check_bounds(base_url, clients, referrals_per_client, max_seconds)
    base = base_url.rstrip("/")
    total = clients * referrals_per_client
    recorder = _Recorder()
    program_id, codes = _setup(base, tokens, advocates or max(1, total // 10), recorder)
    started = time.monotonic()
    stop_at = started + max_seconds

    def work(index: int) -> None:
        client = _Client(base, tokens.client, recorder)
        for round_number in range(referrals_per_client):
            if time.monotonic() > stop_at:
                return
            number = round_number * clients + index
            _cycle(client, program_id, codes[number % len(codes)], number, scoring_timeout_s)

    threads = [threading.Thread(target=work, args=(i,), name=f"load-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    window = min(window, len(recorder.done_at) // 2)
    first, last = _window_rates(started, recorder.done_at, window)
    return LoadResult(
        count=len(recorder.done_at),
        errors=recorder.errors,
        statuses=dict(recorder.statuses),
        elapsed_s=elapsed,
        rate_per_s=len(recorder.done_at) / elapsed if elapsed else 0.0,
        first_window_rate_per_s=first,
        last_window_rate_per_s=last,
        window=window,
        p50_cycle_s=_percentile(recorder.cycles, 0.50),
        p99_cycle_s=_percentile(recorder.cycles, 0.99),
        read_back_failures=recorder.read_back_failures,
    )


@contextlib.contextmanager
def served_stack(
    root: Path, start_timeout_s: float = 120.0, engine: str = "embedded"
) -> Iterator[str]:
    """`rewards serve --engine ENGINE` for the checkout at `root` on a free port; yields its
    base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this package, a port number
        [sys.executable, "-m", "shared.cli", "serve", "--port", str(port), "--engine", engine],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, start_timeout_s)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`rewards serve` exited with {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/_local/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"`rewards serve` did not answer at {url} within {timeout_s} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", help="a running stack (default: start one on a free port)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--referrals-per-client", type=int, default=100)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--engine", choices=("embedded", "moto"), default="embedded")
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    args = parser.parse_args(argv)
    from shared.local.paths import repo_root

    root = repo_root()
    tokens = tokens_for(root)
    options = {
        "clients": args.clients,
        "referrals_per_client": args.referrals_per_client,
        "max_seconds": args.max_seconds,
    }
    if args.url:
        result = run_load(args.url, tokens, **options)
    else:
        with served_stack(root, engine=args.engine) as url:
            result = run_load(url, tokens, **options)
    print(result.summary())
    if args.json:
        print(json.dumps(result.as_dict(), default=str))
    return 0 if not result.errors and not result.read_back_failures else 1


if __name__ == "__main__":
    sys.exit(main())
