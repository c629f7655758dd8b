"""GET /v1/referrals and GET /v1/advocates/{advocate_id} over the functions' HTTP contract
on moto: filters, paging, 422s naming the parameter, and program scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.conftest import Invoke
from tests.support import advocate_body, program_body, referral_body, unique

ADVOCATES = "/v1/programs/{program_id}/advocates"
ADVOCATE = "/v1/advocates/{advocate_id}"
REFERRALS = "/v1/referrals"


@dataclass(frozen=True)
class Enrolled:
    program_id: str
    advocate_id: str
    code: str
    referral_ids: list[str]
    times: list[str]


def _enrolled_with_referrals(invoke: Invoke, count: int) -> Enrolled:
    """A program, an advocate, and `count` referrals a minute apart (up to 4: a client's
    time may be at most 5 minutes ahead)."""
    status, _, program = invoke(
        "programs", "POST", "/v1/programs", body=program_body(), roles=["admin"]
    )
    assert status == 201, program
    program_id = program["program_id"]
    path = ADVOCATES.replace("{program_id}", program_id)
    body = advocate_body()
    status, _, enrolled = invoke("advocates", "POST", ADVOCATES, path, body=body, roles=["client"])
    assert status == 201, enrolled
    # After the enrolment, in whole seconds: a referral may not predate its advocate.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    ids, times = [], []
    for minute in range(count):
        at = (start + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
        times.append(at)
        body = referral_body(program_id, enrolled["referral_code"], occurred_at=at)
        status, _, created = invoke("referrals", "POST", REFERRALS, body=body, roles=["client"])
        assert status == 201, created
        ids.append(created["referral_id"])
    return Enrolled(program_id, enrolled["advocate_id"], enrolled["referral_code"], ids, times)


def _list(invoke: Invoke, query: dict[str, str], **token: Any) -> tuple[int, Any]:
    token = token or {"roles": ["client"]}
    status, _, body = invoke("referrals", "GET", REFERRALS, query=query, **token)
    return status, body


def _advocate(invoke: Invoke, advocate_id: str, **token: Any) -> tuple[int, Any]:
    token = token or {"roles": ["client"]}
    path = ADVOCATE.replace("{advocate_id}", advocate_id)
    status, _, body = invoke("advocates", "GET", ADVOCATE, path, **token)
    return status, body


def _fields(body: Any) -> list[str]:
    return [e["field"] for e in body.get("errors", [])]


def test_a_programs_referrals_are_listed_oldest_first(invoke: Invoke) -> None:
    given = _enrolled_with_referrals(invoke, 3)

    status, body = _list(invoke, {"program_id": given.program_id})

    assert status == 200, body
    assert [r["referral_id"] for r in body["items"]] == given.referral_ids
    assert body["items"][0]["rewards"] == []
    assert body["next_cursor"] is None


def test_the_list_pages_with_its_cursor(invoke: Invoke) -> None:
    given = _enrolled_with_referrals(invoke, 3)
    query = {"program_id": given.program_id, "limit": "2"}

    status, first = _list(invoke, query)
    assert status == 200, first
    status, second = _list(invoke, {**query, "cursor": first["next_cursor"]})

    assert status == 200, second
    seen = [r["referral_id"] for r in first["items"] + second["items"]]
    assert seen == given.referral_ids
    assert second["next_cursor"] is None


def test_a_cursor_is_refused_under_other_filters(invoke: Invoke) -> None:
    given = _enrolled_with_referrals(invoke, 3)
    status, first = _list(invoke, {"program_id": given.program_id, "limit": "1"})
    assert status == 200, first

    status, body = _list(
        invoke,
        {"program_id": given.program_id, "status": "pending", "cursor": first["next_cursor"]},
    )

    assert status == 422
    assert _fields(body) == ["cursor"]


def test_from_and_to_bound_occurred_at_both_included(invoke: Invoke) -> None:
    given = _enrolled_with_referrals(invoke, 3)
    query = {
        "program_id": given.program_id,
        "from": given.times[1],
        "to": given.times[2],
    }

    status, body = _list(invoke, query)

    assert status == 200, body
    assert [r["referral_id"] for r in body["items"]] == given.referral_ids[1:]


def test_status_filters_the_list(invoke: Invoke) -> None:
    given = _enrolled_with_referrals(invoke, 2)

    _, pending = _list(invoke, {"program_id": given.program_id, "status": "pending"})
    _, rewarded = _list(invoke, {"program_id": given.program_id, "status": "rewarded"})

    assert sorted(r["referral_id"] for r in pending["items"]) == sorted(given.referral_ids)
    assert rewarded["items"] == []


def test_finance_lists_an_advocates_referrals(invoke: Invoke) -> None:
    given = _enrolled_with_referrals(invoke, 2)

    status, body = _list(invoke, {"advocate_id": given.advocate_id}, roles=["finance"])

    assert status == 200, body
    assert [r["referral_id"] for r in body["items"]] == given.referral_ids
    assert {r["advocate_id"] for r in body["items"]} == {given.advocate_id}


def test_a_client_filters_by_advocate_within_its_program(invoke: Invoke) -> None:
    given, other = _enrolled_with_referrals(invoke, 2), _enrolled_with_referrals(invoke, 1)
    query = {"program_id": given.program_id, "advocate_id": given.advocate_id, "limit": "1"}

    status, first = _list(invoke, query)
    _, second = _list(invoke, {**query, "cursor": first["next_cursor"]})

    assert status == 200, first
    assert [r["referral_id"] for r in first["items"] + second["items"]] == given.referral_ids
    assert other.referral_ids[0] not in str(first) + str(second)


def test_a_status_that_is_none_is_refused_naming_status(invoke: Invoke) -> None:
    status, body = _list(invoke, {"program_id": unique("prg"), "status": "paid-ish"})

    assert status == 422
    assert _fields(body) == ["status"]


def test_an_invalid_time_is_refused_naming_it(invoke: Invoke) -> None:
    status, body = _list(invoke, {"program_id": unique("prg"), "from": "yesterday"})

    assert status == 422
    assert _fields(body) == ["from"]


def test_from_after_to_is_refused_naming_to(invoke: Invoke) -> None:
    query = {
        "program_id": unique("prg"),
        "from": "2026-02-02T00:00:00Z",
        "to": "2026-02-01T00:00:00Z",
    }

    status, body = _list(invoke, query)

    assert status == 422
    assert _fields(body) == ["to"]


def test_an_unscoped_client_must_name_the_program(invoke: Invoke) -> None:
    status, body = _list(invoke, {"advocate_id": unique("adv")})

    assert status == 422
    assert _fields(body) == ["program_id"]


def test_a_scoped_client_cannot_list_another_programs_referrals(invoke: Invoke) -> None:
    theirs = _enrolled_with_referrals(invoke, 1)
    token = {"roles": ["client"], "sub": unique("shop"), "programs": [unique("prg")]}

    status, body = _list(invoke, {"program_id": theirs.program_id}, **token)

    assert status == 404
    assert theirs.referral_ids[0] not in str(body)


def test_a_scoped_client_lists_its_own_program(invoke: Invoke) -> None:
    mine = _enrolled_with_referrals(invoke, 1)
    token = {"roles": ["client"], "sub": unique("shop"), "programs": [mine.program_id]}

    status, body = _list(invoke, {"program_id": mine.program_id}, **token)

    assert status == 200, body
    assert [r["referral_id"] for r in body["items"]] == mine.referral_ids


def test_an_advocate_shows_its_code_and_referrals_by_status(invoke: Invoke) -> None:
    given = _enrolled_with_referrals(invoke, 2)

    status, body = _advocate(invoke, given.advocate_id)

    assert status == 200, body
    assert body["program_id"] == given.program_id
    assert body["referral_code"] == given.code
    assert body["share_url"].endswith(given.code)
    assert body["variant"] == "default"
    assert body["referrals"]["pending"] == 2
    assert body["rewards"] == {"earned": {}, "pending": {}, "paid": {}}
    assert body["complete"] is True


def test_a_scoped_client_cannot_read_another_programs_advocate(invoke: Invoke) -> None:
    theirs = _enrolled_with_referrals(invoke, 0)
    token = {"roles": ["client"], "sub": unique("shop"), "programs": [unique("prg")]}

    status, body = _advocate(invoke, theirs.advocate_id, **token)

    assert status == 404
    assert theirs.code not in str(body)


def test_a_missing_advocate_is_not_found(invoke: Invoke) -> None:
    status, _ = _advocate(invoke, unique("adv"), roles=["finance"])

    assert status == 404


def _self_referred(invoke: Invoke) -> tuple[str, str]:
    """A program and a referral of the advocate by itself: rejected, with evidence."""
    given = _enrolled_with_referrals(invoke, 0)
    status, _, advocate = _advocate_as_finance(invoke, given.advocate_id)
    assert status == 200, advocate
    referee = {"customer_id": advocate["customer_id"], "email": "self@example.org"}
    body = referral_body(given.program_id, given.code, referee=referee)
    status, _, created = invoke("referrals", "POST", REFERRALS, body=body, roles=["client"])
    assert status == 201, created
    return given.program_id, created["referral_id"]


def _advocate_as_finance(invoke: Invoke, advocate_id: str) -> tuple[int, dict[str, str], Any]:
    path = ADVOCATE.replace("{advocate_id}", advocate_id)
    return invoke("advocates", "GET", ADVOCATE, path, roles=["finance"])


def test_a_client_list_shows_risk_without_evidence(invoke: Invoke) -> None:
    program_id, _ = _self_referred(invoke)

    _, body = _list(invoke, {"program_id": program_id, "status": "rejected"})

    (reason,) = body["items"][0]["risk"]["reasons"]
    assert reason["code"] == "SELF_REFERRAL"
    assert "evidence" not in reason


def test_a_finance_list_shows_risk_with_evidence(invoke: Invoke) -> None:
    program_id, _ = _self_referred(invoke)

    _, body = _list(invoke, {"program_id": program_id}, roles=["finance"])

    (reason,) = body["items"][0]["risk"]["reasons"]
    assert "evidence" in reason
