"""Referrals are scored by the queue consumer and re-scored by the hourly job, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique


def _program_and_advocate(client_for: MakeClient, **advocate: object) -> tuple[str, str]:
    created = client_for("admin").post("/v1/programs", program_body())
    assert created.status_code == 201, created.text
    program_id = created.json()["program_id"]
    enrolled = client_for("client").post(
        f"/v1/programs/{program_id}/advocates", advocate_body(**advocate)
    )
    assert enrolled.status_code == 201, enrolled.text
    return program_id, enrolled.json()["referral_code"]


def _refer_and_buy(client_for: MakeClient, program_id: str, code: str, **referee: object) -> str:
    client = client_for("client")
    created = client.post("/v1/referrals", referral_body(program_id, code, **referee))
    assert created.status_code == 201, created.text
    referral_id = created.json()["referral_id"]
    bought = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
    assert bought.status_code == 202, bought.text
    return referral_id


def test_a_friend_is_scored_into_holding(client_for: MakeClient, stack: LocalStack) -> None:
    program_id, code = _program_and_advocate(client_for)
    referral_id = _refer_and_buy(client_for, program_id, code)
    stack.drain()
    read = client_for("client").get(f"/v1/referrals/{referral_id}").json()
    assert read["status"] == "holding"
    assert read["risk"]["decision"] == "approve"
    assert isinstance(read["risk"]["score"], (int, float))


def test_an_alias_on_the_advocates_device_is_rejected_with_reasons(
    client_for: MakeClient, stack: LocalStack
) -> None:
    device, name = unique("dev"), unique("lee")
    program_id, code = _program_and_advocate(
        client_for,
        email=f"{name}@gmail.com",
        context={"ip": "203.0.113.9", "device_id": device, "country": "US"},
    )
    referral_id = _refer_and_buy(
        client_for,
        program_id,
        code,
        referee={"customer_id": unique("ref"), "email": f"{name}+deal@gmail.com"},
        context={"ip": "203.0.113.9", "device_id": device, "country": "US"},
    )
    stack.drain()
    risk = client_for("finance").get(f"/v1/referrals/{referral_id}").json()["risk"]
    assert risk["decision"] == "reject"
    codes = [reason["code"] for reason in risk["reasons"]]
    assert {"EMAIL_ALIAS", "SELF_REFERRAL_DEVICE"} <= set(codes)
    assert all(reason["message"] and "evidence" in reason for reason in risk["reasons"])


def test_the_hourly_job_runs_on_the_stack(stack: LocalStack) -> None:
    report = stack.run_job("rescore", datetime.now(UTC) + timedelta(hours=1))
    assert report["failures"] == {}
    assert report["model_version"]
