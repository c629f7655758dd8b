"""Client tokens limited to programs, and what a client sees of a referral's risk, over the
functions' HTTP contract on moto."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared import wiring
from shared.domain.referrals import Reason, Risk
from shared.repositories.referrals import ReferralRepository
from tests.integration.conftest import Invoke
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique

PROBLEM = "application/problem+json"
ADVOCATES = "/v1/programs/{program_id}/advocates"
CODES = "/v1/programs/{program_id}/codes/{code}"
REFERRAL = "/v1/referrals/{referral_id}"
EVENTS = "/v1/referrals/{referral_id}/events"
REFUNDS = "/v1/referrals/{referral_id}/refunds"


@dataclass(frozen=True)
class Qualified:
    program_id: str
    code: str
    referral_id: str
    order_id: str


def _program(invoke: Invoke) -> str:
    status, _, body = invoke(
        "programs", "POST", "/v1/programs", body=program_body(), roles=["admin"]
    )
    assert status == 201, body
    return str(body["program_id"])


def _qualified(invoke: Invoke) -> Qualified:
    """A program with an advocate and a referral whose purchase qualified it (backend key)."""
    program_id = _program(invoke)
    path = ADVOCATES.replace("{program_id}", program_id)
    status, _, enrolled = invoke(
        "advocates", "POST", ADVOCATES, path, body=advocate_body(), roles=["client"]
    )
    assert status == 201, enrolled
    code = enrolled["referral_code"]
    body = referral_body(program_id, code)
    status, _, created = invoke("referrals", "POST", "/v1/referrals", body=body, roles=["client"])
    assert status == 201, created
    rid, order_id = created["referral_id"], unique("ord")
    status, _, accepted = invoke(
        "events",
        "POST",
        EVENTS,
        EVENTS.replace("{referral_id}", rid),
        body=purchase_body(order_id),
        roles=["client"],
    )
    assert status == 202, accepted
    return Qualified(program_id, code, rid, order_id)


def _scoped(programs: list[str]) -> dict[str, Any]:
    return {"roles": ["client"], "sub": unique("shop"), "programs": programs}


def _enrol(invoke: Invoke, program_id: str, **token: Any) -> tuple[int, dict[str, str], Any]:
    path = ADVOCATES.replace("{program_id}", program_id)
    return invoke("advocates", "POST", ADVOCATES, path, body=advocate_body(), **token)


def _purchase(invoke: Invoke, rid: str, **token: Any) -> tuple[int, dict[str, str], Any]:
    path = EVENTS.replace("{referral_id}", rid)
    return invoke("events", "POST", EVENTS, path, body=purchase_body(), **token)


def _refund(invoke: Invoke, target: Qualified, **token: Any) -> tuple[int, dict[str, str], Any]:
    body = {"order_id": target.order_id, "amount": "45.00", "currency": "USD"}
    path = REFUNDS.replace("{referral_id}", target.referral_id)
    return invoke("events", "POST", REFUNDS, path, body=body, **token)


def _read(invoke: Invoke, rid: str, **token: Any) -> tuple[int, dict[str, str], Any]:
    return invoke("referrals", "GET", REFERRAL, REFERRAL.replace("{referral_id}", rid), **token)


def _assert_not_found(reply: tuple[int, dict[str, str], Any]) -> None:
    status, headers, body = reply
    assert status == 404 and headers["Content-Type"] == PROBLEM, body
    assert body["status"] == 404


# --- another program's referral: 404, and nothing changes ---------------------------------


def test_a_scoped_client_cannot_record_a_purchase_on_another_programs_referral(
    invoke: Invoke,
) -> None:
    mine, theirs = _program(invoke), _qualified(invoke)

    reply = _purchase(invoke, theirs.referral_id, **_scoped([mine]))

    _assert_not_found(reply)


def test_a_scoped_client_cannot_refund_another_programs_referral(invoke: Invoke) -> None:
    mine, theirs = _program(invoke), _qualified(invoke)

    reply = _refund(invoke, theirs, **_scoped([mine]))

    _assert_not_found(reply)
    _, _, referral = _read(invoke, theirs.referral_id, roles=["finance"])
    assert referral["status"] != "reversed"


def test_a_scoped_client_cannot_read_another_programs_referral(invoke: Invoke) -> None:
    mine, theirs = _program(invoke), _qualified(invoke)

    reply = _read(invoke, theirs.referral_id, **_scoped([mine]))

    _assert_not_found(reply)
    assert theirs.program_id not in json.dumps(reply[2])


def test_another_programs_referral_and_a_missing_one_answer_alike(invoke: Invoke) -> None:
    mine, theirs = _program(invoke), _qualified(invoke)
    missing = unique("no-such-referral")

    foreign = _read(invoke, theirs.referral_id, **_scoped([mine]))
    absent = _read(invoke, missing, **_scoped([mine]))

    assert foreign[0] == absent[0] == 404
    assert foreign[2]["title"] == absent[2]["title"]
    assert foreign[2]["detail"].replace(theirs.referral_id, "X") == absent[2]["detail"].replace(
        missing, "X"
    )


def test_a_scoped_client_cannot_enrol_advocates_in_another_program(invoke: Invoke) -> None:
    mine, theirs = _program(invoke), _program(invoke)

    reply = _enrol(invoke, theirs, **_scoped([mine]))

    _assert_not_found(reply)


def test_a_scoped_client_cannot_check_codes_of_another_program(invoke: Invoke) -> None:
    mine, theirs = _program(invoke), _qualified(invoke)
    path = CODES.replace("{program_id}", theirs.program_id).replace("{code}", theirs.code)

    reply = invoke("programs", "GET", CODES, path, **_scoped([mine]))

    _assert_not_found(reply)


def test_a_scoped_client_cannot_create_a_referral_in_another_program(invoke: Invoke) -> None:
    mine, theirs = _program(invoke), _qualified(invoke)
    body = referral_body(theirs.program_id, theirs.code)

    reply = invoke("referrals", "POST", "/v1/referrals", body=body, **_scoped([mine]))

    _assert_not_found(reply)


def test_a_token_scoped_to_no_program_reaches_none(invoke: Invoke) -> None:
    theirs = _qualified(invoke)

    reply = _read(invoke, theirs.referral_id, **_scoped([]))

    _assert_not_found(reply)


def test_an_idempotent_replay_is_checked_against_the_scope_too(invoke: Invoke) -> None:
    theirs = _qualified(invoke)
    sub, key = unique("shop"), unique("key")
    path = EVENTS.replace("{referral_id}", theirs.referral_id)
    body = purchase_body()
    first = invoke(
        "events",
        "POST",
        EVENTS,
        path,
        body=body,
        roles=["client"],
        sub=sub,
        headers={"Idempotency-Key": key},
    )

    replay = invoke(
        "events",
        "POST",
        EVENTS,
        path,
        body=body,
        roles=["client"],
        sub=sub,
        programs=[unique("other")],
        headers={"Idempotency-Key": key},
    )

    assert first[0] in (200, 202), first
    _assert_not_found(replay)


# --- its own programs: everything works ----------------------------------------------------


def test_a_scoped_client_does_everything_in_its_own_program(invoke: Invoke) -> None:
    own = _qualified(invoke)
    token = _scoped([unique("other"), own.program_id])

    enrol_status, _, enrolled = _enrol(invoke, own.program_id, **token)
    body = referral_body(own.program_id, enrolled["referral_code"])
    create_status, _, created = invoke("referrals", "POST", "/v1/referrals", body=body, **token)
    purchase_status, _, _ = _purchase(invoke, created["referral_id"], **token)
    read_status, _, read = _read(invoke, own.referral_id, **token)
    refund_status, _, refund = _refund(invoke, own, **token)

    assert enrol_status == 201 and create_status == 201 and purchase_status == 202
    assert read_status == 200 and read["program_id"] == own.program_id
    assert refund_status == 201, refund


def test_a_client_token_without_programs_reaches_every_program(invoke: Invoke) -> None:
    first, second = _qualified(invoke), _qualified(invoke)
    token: dict[str, Any] = {"roles": ["client"], "sub": unique("backend")}

    reads = [_read(invoke, q.referral_id, **token)[0] for q in (first, second)]
    enrolments = [_enrol(invoke, q.program_id, **token)[0] for q in (first, second)]
    refunds = [_refund(invoke, q, **token)[0] for q in (first, second)]

    assert reads == [200, 200] and enrolments == [201, 201] and refunds == [201, 201]


# --- what a client sees of the risk --------------------------------------------------------


def _scored_with_identifying_evidence(invoke: Invoke) -> tuple[Qualified, str, str]:
    """A referral scored with evidence naming another program's customer and a finance note."""
    target = _qualified(invoke)
    stranger, note = unique("cust-elsewhere"), f"chargeback ring {unique('ticket')}"
    repository = ReferralRepository(wiring.table())
    referral = repository.get(target.referral_id)
    assert referral is not None
    now = datetime.now(UTC)
    risk = Risk(
        score=Decimal("91"),
        decision="reject",
        reasons=[
            Reason(
                code="SHARED_PAYMENT",
                message="The referee's card was also used by 3 other customers.",
                evidence={"customers": [stranger], "referrals_7d": 2},
            ),
            Reason(
                code="BLOCKED",
                message="Blocked by finance: device on the blocklist.",
                evidence={"entries": [{"entry_id": "b-1", "kind": "device", "reason": note}]},
            ),
        ],
        model_version="test-model-1",
        scored_at=now,
    )
    updated = referral.model_copy(
        update={"risk": risk, "updated_at": now, "version": referral.version + 1}
    )
    repository.save(updated, referral.version)
    return target, stranger, note


def test_a_client_reads_score_decision_and_reason_codes_without_evidence(invoke: Invoke) -> None:
    target, stranger, note = _scored_with_identifying_evidence(invoke)

    status, _, referral = _read(invoke, target.referral_id, roles=["client"])

    assert status == 200
    risk = referral["risk"]
    assert risk["score"] == 91 and risk["decision"] == "reject"
    assert [r["code"] for r in risk["reasons"]] == ["SHARED_PAYMENT", "BLOCKED"]
    assert all(r["message"] for r in risk["reasons"])
    assert all("evidence" not in r for r in risk["reasons"])
    assert stranger not in json.dumps(referral) and note not in json.dumps(referral)


def test_finance_reads_the_full_evidence(invoke: Invoke) -> None:
    target, stranger, note = _scored_with_identifying_evidence(invoke)

    status, _, referral = _read(invoke, target.referral_id, roles=["finance"])

    assert status == 200
    evidence = {r["code"]: r["evidence"] for r in referral["risk"]["reasons"]}
    assert evidence["SHARED_PAYMENT"]["customers"] == [stranger]
    assert evidence["BLOCKED"]["entries"][0]["reason"] == note


def test_a_caller_with_client_and_finance_roles_reads_the_full_evidence(invoke: Invoke) -> None:
    target, stranger, _ = _scored_with_identifying_evidence(invoke)

    _, _, referral = _read(invoke, target.referral_id, roles=["client", "finance"])

    assert stranger in json.dumps(referral["risk"])
