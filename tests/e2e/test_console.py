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


def _review_program(client_for: MakeClient, name: str = "Give 10 get 10") -> str:
    """A program that sends would-be rejections to finance instead (auto_reject: false)."""
    created = client_for("admin").post(
        "/v1/programs", program_body(name=name, auto_reject=False, dual_approval_over="15.00")
    )
    assert created.status_code == 201, created.text
    program_id: str = created.json()["program_id"]
    return program_id


def _open_review(
    client_for: MakeClient, stack: LocalStack, program_id: str, device: str
) -> tuple[str, str]:
    """A referee on the advocate's own device, IP and mailbox: scoring would reject it.
    Returns the referral id and the advocate's customer id."""
    client = client_for("client")
    context = {"ip": "203.0.113.50", "device_id": device, "country": "US"}
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
    referral_id: str = referral.json()["referral_id"]
    event = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
    assert event.status_code == 202, event.text
    stack.drain()
    status = client_for("finance").get(f"/v1/referrals/{referral_id}").json()["status"]
    assert status == "review"
    return referral_id, advocate


def _referral_in_review(client_for: MakeClient, stack: LocalStack) -> tuple[str, str]:
    program_id = _review_program(client_for)
    referral_id, _ = _open_review(client_for, stack, program_id, "console-e2e-phone")
    return program_id, referral_id


def _paid_referral(client_for: MakeClient, stack: LocalStack) -> str:
    """A reviewed referral two finance users approved, released past its holding period."""
    _, referral_id = _referral_in_review(client_for, stack)
    for approver in ("ledger-alice", "ledger-bob"):
        decided = client_for("finance", sub=approver).post(
            f"/v1/reviews/{referral_id}/decision", {"decision": "approve"}
        )
        assert decided.status_code in (200, 202), decided.text
    stack.run_job("release", datetime.now(UTC) + timedelta(days=15))
    stack.drain()
    return referral_id


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


# Every visible box inside the review list, checked against the detail pane and the list's own
# card; table cells must also not hold content wider than themselves (clipped or spilling).
LAYOUT_PROBE = """
() => {
  const box = (node) => node.getBoundingClientRect();
  const overlaps = (a, b) =>
    a.left < b.right - 0.5 && a.right > b.left + 0.5 &&
    a.top < b.bottom - 0.5 && a.bottom > b.top + 0.5;
  const detail = box(document.getElementById("detail"));
  const card = box(document.getElementById("queue"));
  const header = box(document.querySelector("header"));
  const problems = [];
  for (const node of document.querySelectorAll("#queue *")) {
    const r = box(node);
    if (r.width === 0 || r.height === 0) continue;
    const name =
      node.tagName + (node.id ? "#" + node.id : "") + " " + (node.textContent || "").slice(0, 40);
    if (overlaps(r, detail)) problems.push("under the detail pane: " + name);
    if (r.left < card.left - 0.5 || r.right > card.right + 0.5) {
      problems.push("outside its card: " + name);
    }
    const cell = node.tagName === "TD" || node.tagName === "TH";
    if (cell && node.scrollWidth > node.clientWidth + 1) {
      problems.push("spills out of its cell: " + name);
    }
  }
  const page = document.documentElement;
  return {
    problems,
    detailShown: detail.width > 0,
    viewport: page.clientWidth,
    pageWidth: page.scrollWidth,
    headerLeft: header.left,
    headerWidth: header.width,
  };
}
"""

# No spaces to break at: the layout has to wrap it rather than let it push the columns wide.
LONG_NAME = "Spring-referral-programme-for-returning-customers-" + "x" * 60


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1400, 900)])
def test_the_review_list_stays_in_its_card_beside_the_detail_pane(
    browser: object,
    stack: LocalStack,
    client_for: MakeClient,
    tmp_path: Path,
    width: int,
    height: int,
) -> None:
    expect = playwright_api.expect
    program_id = _review_program(client_for, name=LONG_NAME)
    referrals = [
        _open_review(client_for, stack, program_id, unique("console-layout"))[0] for _ in range(3)
    ]
    page = browser.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)

    page.goto(f"{stack.url}/console")
    _sign_in(page, token("finance", sub="carol"))
    page.fill("#f-program", program_id)
    page.click("#refresh")
    expect(page.locator("tr.review")).to_have_count(3)
    expect(page.locator("tr.review td.program-name").first).to_have_text(LONG_NAME)
    page.locator(f'tr.review[data-referral-id="{referrals[0]}"]').click()
    expect(page.locator("#d-id")).to_have_text(referrals[0])
    page.screenshot(path=str(tmp_path / f"console-{width}x{height}.png"), full_page=True)

    layout = page.evaluate(LAYOUT_PROBE)
    page.close()

    assert layout["detailShown"]
    assert layout["problems"] == []
    assert layout["pageWidth"] <= layout["viewport"]
    assert layout["headerLeft"] == 0
    assert layout["headerWidth"] == pytest.approx(layout["viewport"], abs=1)


def test_the_review_detail_names_the_program_and_the_customers(
    browser: object, stack: LocalStack, client_for: MakeClient
) -> None:
    expect = playwright_api.expect
    program_id = _review_program(client_for, name="Friends of the shop")
    referral_id, advocate_customer = _open_review(
        client_for, stack, program_id, unique("console-names")
    )
    referee_customer = (
        client_for("finance").get(f"/v1/reviews/{referral_id}").json()["referee_customer_id"]
    )
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)

    page.goto(f"{stack.url}/console")
    _sign_in(page, token("finance", sub="dana"))
    page.fill("#f-program", program_id)
    page.click("#refresh")
    row = page.locator(f'tr.review[data-referral-id="{referral_id}"]')
    expect(row.locator("td.program-name")).to_have_text("Friends of the shop")
    row.click()

    expect(page.locator("#d-program")).to_have_text("Friends of the shop")
    expect(page.locator("#d-advocate")).to_have_text(advocate_customer)
    expect(page.locator("#d-referee")).to_have_text(referee_customer)
    page.close()


def test_finance_blocks_and_unblocks_a_device_in_the_console(
    browser: object, stack: LocalStack, client_for: MakeClient
) -> None:
    expect = playwright_api.expect
    device = unique("console-block-device")
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)
    page.goto(f"{stack.url}/console")
    _sign_in(page, token("finance", sub="erin"))

    page.select_option("#b-kind", "device")
    page.fill("#b-value", device)
    page.fill("#b-note", "chargeback ring")
    page.click("#b-add")
    expect(page.locator("#blocklist-status")).to_contain_text("Blocked device")
    entries = client_for("finance").get("/v1/blocklist", params={"limit": 100}).json()["items"]
    (entry,) = [e for e in entries if e["note"] == "chargeback ring" and e["created_by"] == "erin"]
    row = page.locator(f'tr.block-entry[data-entry-id="{entry["entry_id"]}"]')
    expect(row).to_contain_text("chargeback ring")

    row.locator("button.unblock").click()
    expect(page.locator("#blocklist-status")).to_contain_text("Removed device")
    expect(row).to_have_count(0)
    page.close()


def test_the_stats_screen_shows_every_reward_kind_without_a_variant_plot(
    browser: object, stack: LocalStack, client_for: MakeClient
) -> None:
    expect = playwright_api.expect
    program_id = _review_program(client_for, name="Stats shown")
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)
    page.goto(f"{stack.url}/console")
    _sign_in(page, token("finance", sub="finn"))

    page.fill("#s-program", program_id)
    page.click("#s-load")

    expect(page.locator("#s-name")).to_have_text("Stats shown")
    expect(page.locator("#s-referrals")).to_have_text("0")
    expect(page.locator("#s-budget")).to_contain_text("5000.00 USD")
    kinds = page.locator("#s-paid tr.paid-kind")
    expect(kinds).to_have_count(4)
    expect(page.locator('#s-paid tr[data-kind="points"]')).to_contain_text("points")
    expect(page.locator('#s-paid tr[data-kind="charity_donation"]')).to_contain_text(
        "charity donation"
    )
    expect(page.locator("#s-variants")).to_be_hidden()
    page.close()


def test_the_ledger_lists_entries_by_status(
    browser: object, stack: LocalStack, client_for: MakeClient
) -> None:
    expect = playwright_api.expect
    referral_id = _paid_referral(client_for, stack)
    rewards = client_for("finance").get("/v1/rewards", params={"referral_id": referral_id})
    assert len(rewards.json()["items"]) == 2
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)
    page.goto(f"{stack.url}/console")
    _sign_in(page, token("finance", sub="gus"))

    page.select_option("#l-status", "")
    page.fill("#l-referral", referral_id)
    page.click("#ledger-refresh")

    entries = page.locator("tr.reward-entry")
    expect(entries).to_have_count(len(rewards.json()["items"]))
    expect(entries.first.locator("td").nth(1)).to_have_text("Give 10 get 10")
    expect(entries.locator("button.reissue")).to_have_count(0)
    page.close()


def _experiment_with_conversions(client_for: MakeClient, stack: LocalStack) -> str:
    """A program testing "10 off" against "15 off", with advocates on each who referred
    friends, some of whom bought."""
    rewards = {
        name: {
            "advocate": {"kind": "gift_card", "amount": amount, "currency": "USD"},
            "referee": {"kind": "cash", "amount": amount, "currency": "USD"},
        }
        for name, amount in (("10 off", "10.00"), ("15 off", "15.00"))
    }
    variants = [{"name": name, "weight": 1, "rewards": r} for name, r in rewards.items()]
    body = program_body(name="Which incentive", tiers=[], variants=variants)
    created = client_for("admin").post("/v1/programs", body)
    assert created.status_code == 201, created.text
    program_id: str = created.json()["program_id"]
    client = client_for("client")
    for n in range(8):
        context = {"ip": f"203.0.{n + 30}.10", "device_id": unique("laptop"), "country": "US"}
        enrolled = client.post(
            f"/v1/programs/{program_id}/advocates", advocate_body(context=context)
        )
        assert enrolled.status_code == 201, enrolled.text
        friend = {"ip": f"100.{70 + n}.7.1", "device_id": unique("phone"), "country": "US"}
        code = enrolled.json()["referral_code"]
        made = client.post("/v1/referrals", referral_body(program_id, code, context=friend))
        assert made.status_code == 201, made.text
        if n % 2 == 0:
            bought = client.post(
                f"/v1/referrals/{made.json()['referral_id']}/events", purchase_body()
            )
            assert bought.status_code == 202, bought.text
    stack.drain()
    return program_id


def test_the_stats_screen_plots_each_variants_conversion_rate(
    browser: object, stack: LocalStack, client_for: MakeClient, tmp_path: Path
) -> None:
    # Given an experiment whose advocates referred friends on both variants
    expect = playwright_api.expect
    program_id = _experiment_with_conversions(client_for, stack)
    shown = client_for("finance").get(f"/v1/programs/{program_id}/stats").json()["variants"]
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)
    page.goto(f"{stack.url}/console")
    _sign_in(page, token("finance", sub="vera"))

    # When finance opens the program's stats
    page.fill("#s-program", program_id)
    page.click("#s-load")

    # Then the plot draws one row per variant with its rate and interval
    expect(page.locator("#s-name")).to_have_text("Which incentive")
    expect(page.locator("#s-variants")).to_be_visible()
    rows = page.locator("#s-plot svg.variant-plot g.variant")
    expect(rows).to_have_count(len(shown))
    for variant in shown:
        row = page.locator(f'#s-plot g.variant[data-variant="{variant["name"]}"]')
        expect(row.locator("line.interval")).to_have_count(1)
        expect(row.locator("circle.rate")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "console-variant-plot.png"), full_page=True)
    page.close()
    assert {v["name"] for v in shown} >= {"10 off", "15 off"}
