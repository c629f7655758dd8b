"""The review console in a real headless Chromium against the local stack: two finance users
approve a high-value referral that scoring sent to review."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient, token
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        # CI installs Chromium (make browser); only a developer machine may lack it.
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs it")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield launched
        launched.close()


def _referral_in_review(client_for: MakeClient, stack: LocalStack) -> tuple[str, str]:
    """A referee on the advocate's own device, IP and mailbox: scoring would reject it, and this
    program sends would-be rejections to finance instead (auto_reject: false)."""
    admin, client = client_for("admin"), client_for("client")
    created = admin.post(
        "/v1/programs", program_body(auto_reject=False, dual_approval_over="15.00")
    )
    assert created.status_code == 201, created.text
    program_id = created.json()["program_id"]
    context = {"ip": "203.0.113.50", "device_id": "console-e2e-phone", "country": "US"}
    advocate = unique("adv")
    enrolled = client.post(
        f"/v1/programs/{program_id}/advocates",
        advocate_body(advocate, email=f"{advocate}@gmail.com", context=context),
    )
    assert enrolled.status_code == 201, enrolled.text
    referee = {"customer_id": unique("ref"), "email": f"{advocate}+deal@gmail.com"}
    body = referral_body(
        program_id, enrolled.json()["referral_code"], context=context, referee=referee
    )
    referral = client.post("/v1/referrals", body)
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["referral_id"]
    event = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
    assert event.status_code == 202, event.text
    stack.drain()
    status = client_for("finance").get(f"/v1/referrals/{referral_id}").json()["status"]
    assert status == "review"
    return program_id, referral_id


def test_two_finance_users_approve_a_flagged_referral_in_the_console(
    browser: object, stack: LocalStack, client_for: MakeClient
) -> None:
    expect = playwright_api.expect
    program_id, referral_id = _referral_in_review(client_for, stack)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)

    page.goto(f"{stack.url}/console")
    expect(page.locator("#who")).to_have_text("no token")
    _sign_in(page, token("finance", sub="alice"))
    page.fill("#f-program", program_id)
    page.click("#refresh")
    row = page.locator(f'tr.review[data-referral-id="{referral_id}"]')
    expect(row).to_contain_text("SELF_REFERRAL_DEVICE")

    row.click()
    expect(page.locator("#d-id")).to_have_text(referral_id)
    expect(page.locator("#d-approvals")).to_have_text("0 of 2")
    expect(page.locator("#d-reasons")).to_contain_text("SELF_REFERRAL_DEVICE")
    expect(page.locator("#d-shared")).to_contain_text("device")
    page.fill("#note", "known customer, same household")
    page.click("#approve")
    expect(page.locator("#decision-status")).to_contain_text("Approval recorded (1 of 2)")
    expect(page.locator("#d-approvals")).to_contain_text("1 of 2 (alice")

    page.click("#approve")
    expect(page.locator("#decision-status")).to_contain_text("already approved")

    page.click("#token-clear")
    _sign_in(page, token("finance", sub="bob"))
    page.fill("#f-program", program_id)
    page.click("#refresh")
    row.click()
    expect(page.locator("#d-approvals")).to_contain_text("1 of 2 (alice")
    page.click("#approve")
    expect(page.locator("#decision-status")).to_have_text("Decided: holding.")
    expect(page.locator("#approve")).to_be_disabled()
    expect(row).to_have_count(0)
    page.close()

    finance = client_for("finance")
    assert finance.get(f"/v1/referrals/{referral_id}").json()["status"] == "holding"

    # Past the 14-day holding period, the release pays it, and a second release pays nothing.
    later = datetime.now(UTC) + timedelta(days=15)
    stack.run_job("release", later)
    stack.drain()
    stack.run_job("release", later + timedelta(hours=1))
    stack.drain()
    paid = finance.get(f"/v1/referrals/{referral_id}").json()
    assert paid["status"] == "rewarded"
    assert sorted((r["beneficiary"], r["status"]) for r in paid["rewards"]) == [
        ("advocate", "confirmed"),
        ("referee", "confirmed"),
    ]
    ledger = finance.get("/v1/rewards", params={"referral_id": referral_id}).json()["items"]
    assert len(ledger) == 2


def test_a_client_token_is_refused_in_the_console(
    browser: object, stack: LocalStack, client_for: MakeClient
) -> None:
    expect = playwright_api.expect
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)

    page.goto(f"{stack.url}/console")
    _sign_in(page, token("client", sub="shop"))

    expect(page.locator("#queue-status")).to_contain_text("Forbidden")
    page.close()


def _sign_in(page: object, bearer: str) -> None:
    page.fill("#token", bearer)  # type: ignore[attr-defined]
    page.click("#token-save")  # type: ignore[attr-defined]
