"""Merchant webhooks over real HTTP on the local stack: a receiver on 127.0.0.1 gets each
event signed, a flaky one gets it on the third try, one that is always down ends in the
dead-letter queue, and a URL inside the network is refused."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.domain.webhook_signature import HEADER, verify_signature
from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: datetime


@dataclass
class Receivers:
    """One HTTP server; `/ok` answers 200, `/flaky` 500 twice then 200, `/down` 500 always."""

    port: int = 0
    seen: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def of(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.seen if r.path == path]

    def answer(self, path: str) -> int:
        with self.lock:
            count = len([r for r in self.seen if r.path == path])
        if path.startswith("/flaky"):
            return 200 if count > 2 else 500
        return 500 if path.startswith("/down") else 200


def _handler(receivers: Receivers) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received = Received(self.path, dict(self.headers), body, datetime.now(UTC))
            with receivers.lock:
                receivers.seen.append(received)
            self.send_response(receivers.answer(self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    receivers = Receivers()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(receivers))
    receivers.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receivers
    server.shutdown()
    server.server_close()


def _register(client_for: MakeClient, url: str, program_id: str) -> dict[str, Any]:
    admin = client_for("admin")
    created = admin.post(
        "/v1/webhooks", {"url": url, "events": ["referral.scored"], "program_id": program_id}
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def _scored_referral(client_for: MakeClient, stack: LocalStack, program_id: str) -> str:
    client = client_for("client")
    enrolled = client.post(f"/v1/programs/{program_id}/advocates", advocate_body())
    code = enrolled.json()["referral_code"]
    referral = client.post("/v1/referrals", referral_body(program_id, code))
    referral_id = str(referral.json()["referral_id"])
    purchase = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
    assert purchase.status_code == 202, purchase.text
    # Scoring, fan-out and every retry (seconds apart on the local stack) run to the end.
    stack.drain(timeout=60)
    return referral_id


@pytest.fixture(scope="module")
def delivered(client_for: MakeClient, stack: LocalStack, receivers: Receivers) -> dict[str, Any]:
    """Three webhooks on one fresh program, then one referral of it scored."""
    admin = client_for("admin")
    program = admin.post("/v1/programs", program_body(name=unique("webhooks")))
    assert program.status_code == 201, program.text
    program_id = program.json()["program_id"]
    hooks = {
        name: _register(client_for, receivers.url(f"/{name}/{program_id}"), program_id)
        for name in ("ok", "flaky", "down")
    }
    referral_id = _scored_referral(client_for, stack, program_id)
    return {"program_id": program_id, "referral_id": referral_id, "hooks": hooks}


def test_a_receiver_on_127_0_0_1_gets_the_event_signed_with_its_secret(
    delivered: dict[str, Any], receivers: Receivers
) -> None:
    hook = delivered["hooks"]["ok"]
    [received] = receivers.of(f"/ok/{delivered['program_id']}")

    assert verify_signature(hook["secret"], received.headers[HEADER], received.body, received.at)
    payload = json.loads(received.body)
    assert set(payload) == {"id", "type", "created_at", "data"}
    assert payload["type"] == "referral.scored"
    assert payload["data"]["referral_id"] == delivered["referral_id"]
    assert received.headers["Rewards-Event-Id"] == payload["id"]


def test_a_tampered_body_fails_verification(
    delivered: dict[str, Any], receivers: Receivers
) -> None:
    hook = delivered["hooks"]["ok"]
    [received] = receivers.of(f"/ok/{delivered['program_id']}")
    tampered = received.body.replace(b'"referral.scored"', b'"reward.paid"')

    assert tampered != received.body
    assert not verify_signature(hook["secret"], received.headers[HEADER], tampered, received.at)


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try(
    client_for: MakeClient, delivered: dict[str, Any], receivers: Receivers
) -> None:
    hook = delivered["hooks"]["flaky"]
    tries = receivers.of(f"/flaky/{delivered['program_id']}")

    assert len(tries) == 3 and len({json.loads(t.body)["id"] for t in tries}) == 1
    for attempt in tries:
        assert verify_signature(hook["secret"], attempt.headers[HEADER], attempt.body, attempt.at)
    answer = client_for("admin").get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")
    assert answer.status_code == 200, answer.text
    rows = answer.json()["items"]
    assert [(r["attempt"], r["status_code"]) for r in rows] == [(3, 200), (2, 500), (1, 500)]
    assert {r["state"] for r in rows} == {"delivered"}
    assert rows[1]["error"] == "HTTP 500" and rows[1]["next_attempt_at"] is not None


def test_a_receiver_that_always_fails_ends_in_the_dead_letter_queue(
    client_for: MakeClient, stack: LocalStack, delivered: dict[str, Any], receivers: Receivers
) -> None:
    hook = delivered["hooks"]["down"]

    assert len(receivers.of(f"/down/{delivered['program_id']}")) == 4
    rows = client_for("admin").get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").json()
    assert {r["state"] for r in rows["items"]} == {"failed"}
    sqs = stack.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=stack.physical_id("WebhookDeadLetterQueue"), MaxNumberOfMessages=10
    ).get("Messages", [])
    orders = [json.loads(m["Body"])["order"] for m in messages]
    assert [
        (o["webhook_id"], o["attempt"]) for o in orders if o["webhook_id"] == hook["webhook_id"]
    ] == [(hook["webhook_id"], 4)]


def test_the_list_never_shows_a_secret_and_rotation_shows_a_new_one_once(
    client_for: MakeClient, delivered: dict[str, Any]
) -> None:
    admin = client_for("admin")
    hook = delivered["hooks"]["ok"]

    listed = admin.get("/v1/webhooks").json()["items"]
    rotated = admin.post(f"/v1/webhooks/{hook['webhook_id']}/rotate-secret")

    mine = [w for w in listed if w["webhook_id"] == hook["webhook_id"]]
    assert len(mine) == 1 and "secret" not in mine[0] and hook["secret"] not in json.dumps(listed)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != hook["secret"]


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "http://192.168.1.10/hooks",
        "http://localhost:8080/hooks",
    ],
)
def test_a_url_inside_the_network_is_refused_naming_url(client_for: MakeClient, url: str) -> None:
    answer = client_for("admin").post("/v1/webhooks", {"url": url, "events": ["reward.paid"]})

    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert [e["field"] for e in answer.json()["errors"]] == ["url"]


def test_an_unknown_event_type_is_refused_naming_events(
    client_for: MakeClient, receivers: Receivers
) -> None:
    answer = client_for("admin").post(
        "/v1/webhooks", {"url": receivers.url("/ok/x"), "events": ["referral.vanished"]}
    )

    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["events"]


def test_only_admins_manage_webhooks(client_for: MakeClient, receivers: Receivers) -> None:
    body = {"url": receivers.url("/ok/x"), "events": ["reward.paid"]}
    for role in ("client", "finance"):
        assert client_for(role).post("/v1/webhooks", body).status_code == 403
        assert client_for(role).get("/v1/webhooks").status_code == 403


def test_a_deleted_webhook_is_gone_from_the_list(
    client_for: MakeClient, receivers: Receivers
) -> None:
    admin = client_for("admin")
    created = admin.post(
        "/v1/webhooks", {"url": receivers.url("/ok/gone"), "events": ["reward.paid"]}
    )
    webhook_id = created.json()["webhook_id"]

    deleted = admin.request("DELETE", f"/v1/webhooks/{webhook_id}")

    assert deleted.status_code == 200, deleted.text
    assert webhook_id not in {w["webhook_id"] for w in admin.get("/v1/webhooks").json()["items"]}
    assert admin.get(f"/v1/webhooks/{webhook_id}/deliveries").status_code == 404
