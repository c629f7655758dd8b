"""The finance functions' HTTP contract, invoked with API Gateway v2 events on moto's
DynamoDB (so the conditional and transactional writes run on the real adapter)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import wiring
from shared.domain.customers import pseudonym
from shared.repositories.stats import Counter, ProgramCounters
from shared.services.customers import ITEMS_PER_CALL
from tests.finance_support import flag
from tests.integration.conftest import FakeContext, Invoke, http_event, load_handler
from tests.support import advocate_body, program_body, purchase_body, referral_body

PROBLEM = "application/problem+json"
REVIEW = "/v1/reviews/{referral_id}"
DECISION = "/v1/reviews/{referral_id}/decision"


def _program(invoke: Invoke, **overrides: Any) -> str:
    status, _, body = invoke(
        "programs", "POST", "/v1/programs", body=program_body(**overrides), roles=["admin"]
    )
    assert status == 201, body
    return str(body["program_id"])


def _referral(invoke: Invoke, program_id: str, **advocate: Any) -> dict[str, Any]:
    route = "/v1/programs/{program_id}/advocates"
    path = f"/v1/programs/{program_id}/advocates"
    status, _, enrolled = invoke(
        "advocates", "POST", route, path, body=advocate_body(**advocate), roles=["client"]
    )
    assert status == 201, enrolled
    body = referral_body(program_id, enrolled["referral_code"])
    status, _, created = invoke("referrals", "POST", "/v1/referrals", body=body, roles=["client"])
    assert status == 201, created
    rid = created["referral_id"]
    route = "/v1/referrals/{referral_id}/events"
    status, _, _ = invoke(
        "events",
        "POST",
        route,
        f"/v1/referrals/{rid}/events",
        body=purchase_body(),
        roles=["client"],
    )
    assert status == 202
    return {"referral_id": rid, "referee": body["referee"], "advocate_id": enrolled["advocate_id"]}


def _flagged(invoke: Invoke, program_id: str, score: int = 85) -> str:
    rid = str(_referral(invoke, program_id)["referral_id"])
    flag(wiring.table(), rid, score, datetime.now(UTC), ("SHARED_PAYMENT", "RING"))
    return rid


def _decide(invoke: Invoke, rid: str, decision: str, sub: str, roles: list[str] | None = None):  # type: ignore[no-untyped-def]
    return invoke(
        "reviews",
        "POST",
        DECISION,
        f"/v1/reviews/{rid}/decision",
        body={"decision": decision, "note": "checked"},
        roles=roles or ["finance"],
        sub=sub,
    )


def test_dual_approval_is_202_then_409_for_the_same_user_then_200(invoke: Invoke) -> None:
    program_id = _program(invoke, dual_approval_over="15.00")
    rid = _flagged(invoke, program_id)

    first = _decide(invoke, rid, "approve", "alice")
    again = _decide(invoke, rid, "approve", "alice")
    second = _decide(invoke, rid, "approve", "bob")

    assert first[0] == 202 and first[2]["status"] == "review"
    assert first[2]["approvals_needed"] == 2
    assert [a["by"] for a in first[2]["approvals"]] == ["alice"]
    assert again[0] == 409 and again[1]["Content-Type"] == PROBLEM
    assert second[0] == 200 and second[2]["status"] == "holding"
    assert [a["by"] for a in second[2]["approvals"]] == ["alice", "bob"]


def test_a_client_token_cannot_decide(invoke: Invoke) -> None:
    program_id = _program(invoke)
    rid = _flagged(invoke, program_id)

    status, headers, _ = _decide(invoke, rid, "approve", "shop", roles=["client"])

    assert status == 403 and headers["Content-Type"] == PROBLEM


def test_the_review_list_is_ordered_and_filtered_over_http(invoke: Invoke) -> None:
    program_id = _program(invoke)
    low, high = _flagged(invoke, program_id, 30), _flagged(invoke, program_id, 90)

    status, _, page = invoke(
        "reviews",
        "GET",
        "/v1/reviews",
        roles=["finance"],
        query={"status": "open", "program_id": program_id, "reason": "RING", "limit": "10"},
    )

    assert status == 200 and page["next_cursor"] is None
    assert [i["referral_id"] for i in page["items"]] == [high, low]
    assert page["items"][0]["score"] == 90 and page["items"][0]["reasons"][0]["code"]


def test_bad_list_parameters_are_422_naming_the_field(invoke: Invoke) -> None:
    for query, field in (
        ({"status": "closed"}, "status"),
        ({"min_score": "high"}, "min_score"),
        ({"cursor": "garbage"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ):
        status, _, body = invoke("reviews", "GET", "/v1/reviews", roles=["finance"], query=query)
        assert status == 422, (query, body)
        assert field in [e["field"] for e in body["errors"]], (query, body)


def test_review_detail_has_evidence_timeline_and_no_raw_personal_data(invoke: Invoke) -> None:
    program_id = _program(invoke)
    referral = _referral(invoke, program_id)
    flag(wiring.table(), referral["referral_id"], 70, datetime.now(UTC))
    rid = referral["referral_id"]

    status, _, detail = invoke("reviews", "GET", REVIEW, f"/v1/reviews/{rid}", roles=["finance"])

    assert status == 200
    assert detail["status"] == "review" and detail["approvals_needed"] == 1
    assert detail["rewards_total"] == {"amount": "20.00", "currency": "USD"}
    assert {"referral", "event"} <= {t["kind"] for t in detail["timeline"]}
    assert referral["referee"]["email"] not in json.dumps(detail)


def test_blocklist_round_trip_is_audited(invoke: Invoke) -> None:
    status, _, entry = invoke(
        "reviews",
        "POST",
        "/v1/blocklist",
        body={"kind": "ip", "value": "192.0.2.44", "note": "proxy"},
        roles=["finance"],
        sub="alice",
    )
    assert status == 201 and entry["hint"] == "192.0.2.x"
    duplicate = invoke(
        "reviews",
        "POST",
        "/v1/blocklist",
        body={"kind": "ip", "value": "192.0.2.44"},
        roles=["finance"],
    )
    route = "/v1/blocklist/{entry_id}"
    removed = invoke(
        "reviews", "DELETE", route, f"/v1/blocklist/{entry['entry_id']}", roles=["finance"]
    )
    gone = invoke(
        "reviews", "DELETE", route, f"/v1/blocklist/{entry['entry_id']}", roles=["finance"]
    )
    status, _, audit = invoke(
        "reviews", "GET", "/v1/audit", roles=["finance"], query={"limit": "100"}
    )

    assert duplicate[0] == 409 and removed[0] == 200 and gone[0] == 404
    actions = [(e["action"], e["after"] or e["before"]) for e in audit["items"]]
    mine = [a for a, state in actions if state and state.get("entry_id") == entry["entry_id"]]
    assert mine == ["blocklist.added", "blocklist.removed"]
    assert "192.0.2.44" not in json.dumps(audit)


def test_unknown_blocklist_kind_is_422(invoke: Invoke) -> None:
    status, _, body = invoke(
        "reviews",
        "POST",
        "/v1/blocklist",
        body={"kind": "phone", "value": "123"},
        roles=["finance"],
    )
    assert status == 422 and [e["field"] for e in body["errors"]] == ["kind"]


def test_stats_are_read_by_admin_and_finance_only(invoke: Invoke) -> None:
    program_id = _program(invoke)
    wiring.table().write(
        [ProgramCounters.add_op(program_id, {Counter.REFERRALS: 4, Counter.QUALIFIED: 1})]
    )
    route = "/v1/programs/{program_id}/stats"
    path = f"/v1/programs/{program_id}/stats"

    admin = invoke("programs", "GET", route, path, roles=["admin"])
    finance = invoke("programs", "GET", route, path, roles=["finance"])
    client = invoke("programs", "GET", route, path, roles=["client"])

    assert admin[0] == finance[0] == 200 and client[0] == 403
    assert admin[2]["referrals"] == 4 and admin[2]["conversion_rate"] == 0.25


def test_customer_erasure_is_admin_only_and_removes_the_email(invoke: Invoke) -> None:
    program_id = _program(invoke)
    referral = _referral(invoke, program_id)
    customer = referral["referee"]["customer_id"]
    route = "/v1/customers/{customer_id}"
    path = f"/v1/customers/{customer}"

    refused = invoke("customers", "DELETE", route, path, roles=["finance"])
    status, _, erased = invoke("customers", "DELETE", route, path, roles=["admin"], sub="dpo")
    again = invoke("customers", "DELETE", route, path, roles=["admin"], sub="dpo")

    assert refused[0] == 403
    assert status == 200 and erased["referrals_erased"] == 1
    assert again[0] == 200 and again[2]["already_erased"] == 1
    stored = wiring.table().get(f"REFERRAL#{referral['referral_id']}", "REFERRAL")
    assert stored is not None and stored["doc"].get("referee_email") is None


def test_erasing_a_customer_id_sent_percent_encoded_erases_that_customer(
    invoke: Invoke,
) -> None:
    # Given a referee whose customer id has an @ in it
    program_id = _program(invoke)
    advocate = advocate_body()
    route = "/v1/programs/{program_id}/advocates"
    status, _, enrolled = invoke(
        "advocates",
        "POST",
        route,
        route.replace("{program_id}", program_id),
        body=advocate,
        roles=["client"],
    )
    assert status == 201, enrolled
    customer = f"{uuid.uuid4().hex[:8]}@shop.example"
    body = referral_body(program_id, enrolled["referral_code"])
    body["referee"] = {"customer_id": customer, "email": customer}
    status, _, created = invoke("referrals", "POST", "/v1/referrals", body=body, roles=["client"])
    assert status == 201, created

    # When an admin erases it, the id percent-encoded in the path as clients send it
    encoded = customer.replace("@", "%40")
    status, _, erased = invoke(
        "customers",
        "DELETE",
        "/v1/customers/{customer_id}",
        f"/v1/customers/{encoded}",
        roles=["admin"],
    )

    # Then that customer's referral is erased
    assert status == 200 and erased["customer_id"] == customer
    assert erased["referrals_erased"] == 1
    stored = wiring.table().get(f"REFERRAL#{created['referral_id']}", "REFERRAL")
    assert stored is not None and stored["doc"].get("referee_email") is None


def test_an_advocate_erasure_keeps_its_ledger_counters_on_dynamodb(invoke: Invoke) -> None:
    program_id = _program(invoke)
    referral = _referral(invoke, program_id, customer_id="erase-me-adv")
    advocate_key = (f"ADVOCATE#{referral['advocate_id']}", "ADVOCATE")
    from shared.repositories.rewards import RewardRepository

    wiring.table().write(
        [RewardRepository(wiring.table()).cap_slot_op(referral["advocate_id"], 0, exists=False)]
    )
    route = "/v1/customers/{customer_id}"

    status, _, erased = invoke(
        "customers", "DELETE", route, "/v1/customers/erase-me-adv", roles=["admin"]
    )

    assert status == 200 and erased["advocates_erased"] == 1
    item = wiring.table().get(*advocate_key)
    assert item is not None and item["doc"]["erased"] is True and item["doc"].get("email") is None
    assert int(item["rewarded_referrals"]) == 1


def test_a_referee_erasure_on_dynamodb_moves_the_guard_and_pseudonymises_the_referral(
    invoke: Invoke,
) -> None:
    # Given a referee with a referral, its evidence and its guard on DynamoDB
    program_id = _program(invoke)
    referral = _referral(invoke, program_id)
    customer = referral["referee"]["customer_id"]
    alias = pseudonym(wiring.hasher(), customer)

    # When an admin erases the customer
    status, _, erased = invoke(
        "customers",
        "DELETE",
        "/v1/customers/{customer_id}",
        f"/v1/customers/{customer}",
        roles=["admin"],
    )

    # Then the referral names the pseudonym and the guard stands under it, not the raw id
    assert status == 200 and erased["referrals_erased"] == 1
    table = wiring.table()
    stored = table.get(f"REFERRAL#{referral['referral_id']}", "REFERRAL")
    assert stored is not None and stored["doc"]["referee_customer_id"] == alias
    assert table.get(f"REFEREE#{program_id}#{customer}", "REFEREE") is None
    guard = table.get(f"REFEREE#{program_id}#{alias}", "REFEREE")
    assert guard is not None and guard["gsi2pk"] == f"CUSTOMER#{alias}"


def test_an_erasure_that_runs_out_of_its_share_answers_503_and_a_repeat_finishes_it(
    invoke: Invoke,
) -> None:
    # Given a referee, and erasure allowed one write per call
    program_id = _program(invoke)
    customer = _referral(invoke, program_id)["referee"]["customer_id"]
    path = f"/v1/customers/{customer}"
    service = wiring.customer_service()
    service.items_per_call = 1
    try:
        # When an admin erases the customer
        status, _, problem = invoke(
            "customers", "DELETE", "/v1/customers/{customer_id}", path, roles=["admin"]
        )
    finally:
        service.items_per_call = ITEMS_PER_CALL

    # Then the call says it is unfinished, without the raw id, and a repeat finishes it
    assert status == 503 and problem["title"] == "Erasure unfinished"
    assert customer not in json.dumps(problem)
    status, _, erased = invoke(
        "customers", "DELETE", "/v1/customers/{customer_id}", path, roles=["admin"]
    )
    assert status == 200 and erased["already_erased"] == 1


def test_the_timeout_job_reads_now_from_the_scheduled_event(invoke: Invoke) -> None:
    program_id = _program(invoke, review_timeout_days=2, review_timeout_action="reject")
    rid = _flagged(invoke, program_id)
    handler = load_handler("expire_reviews")
    later = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")

    report = handler.lambda_handler(
        {"time": later, "detail-type": "Scheduled Event"}, FakeContext()
    )

    assert report["expired"] >= 1
    status, _, detail = invoke("reviews", "GET", REVIEW, f"/v1/reviews/{rid}", roles=["finance"])
    assert status == 200 and detail["status"] == "rejected"


def test_the_console_page_is_served_without_a_token_under_a_strict_policy() -> None:
    console = load_handler("console")

    def get(route: str, path: str) -> dict[str, Any]:
        response: dict[str, Any] = console.lambda_handler(
            http_event("GET", route, path, roles=None), FakeContext()
        )
        return response

    page = get("/console", "/console")
    script = get("/console/{asset}", "/console/console.js")
    missing = get("/console/{asset}", "/console/app.py")

    assert page["statusCode"] == 200 and page["headers"]["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in page["headers"]["Content-Security-Policy"]
    assert "<title>Referral reviews</title>" in page["body"]
    assert script["statusCode"] == 200
    assert script["headers"]["Content-Type"].startswith("text/javascript")
    assert missing["statusCode"] == 404


def test_the_console_page_loads_its_plot_script_from_its_own_origin() -> None:
    console = load_handler("console")

    page = console.lambda_handler(
        http_event("GET", "/console", "/console", roles=None), FakeContext()
    )
    plot = console.lambda_handler(
        http_event("GET", "/console/{asset}", "/console/plot.js", roles=None), FakeContext()
    )

    assert '<script src="/console/plot.js" defer></script>' in page["body"]
    assert plot["statusCode"] == 200
    assert plot["headers"]["Content-Type"].startswith("text/javascript")
    assert "ConsolePlot" in plot["body"]
