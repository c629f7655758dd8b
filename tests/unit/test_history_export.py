"""The history export: which referrals it labels and why, how it names erased customers,
and that the backtest takes its hashed lines."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from shared.backtest.hashed import KnownDigests, referee_mailbox
from shared.backtest.ops import parse_lines
from shared.backtest.replay import Backtest
from shared.clock import FixedClock
from shared.pii import PiiHasher, PiiKind
from shared.repositories.history import StoredHistory
from shared.schemas.programs import ProgramCreate
from shared.scoring.evidence.email import email_local_similarity
from shared.storage.memory_table import MemoryTable
from shared.training.history_export import HistoryExport, program_op
from tests.finance_support import services_on
from tests.support import T0, program_body
from tests.unit.history_world import LiveWorld


def _reviewed(decision: str) -> tuple[LiveWorld, str]:
    world = LiveWorld()
    program = world.program()
    _, code = world.advocate(program, "ann@example.com", "203.0.113.7", "dev-a")
    world.referral(program, code, "b1@example.org", "192.0.2.10", "dev-x")
    second = world.referral(program, code, "b2@example.org", "192.0.2.11", "dev-x")
    world.tick(3600)
    world.purchase(second.referral_id, "ord-1", "card-1")
    assert world.referral_now(second.referral_id).status.value == "review"
    world.decide(second.referral_id, decision, "finance-1")
    return world, second.referee_customer_id


def _label_of(world: LiveWorld, referee: str, now: Any = None) -> dict[str, Any] | None:
    return next((x for x in world.export(now).labels if x["referee"] == referee), None)


def test_a_finance_rejection_is_a_fraud_label() -> None:
    world, referee = _reviewed("reject")
    assert _label_of(world, referee) == {
        "program": world.referral_now_by(referee).program_id,
        "referee": referee,
        "label": "fraud",
        "source": "review",
    }


def test_a_finance_approval_is_a_legit_label() -> None:
    world, referee = _reviewed("approve")
    label = _label_of(world, referee)
    assert label is not None and (label["label"], label["source"]) == ("legit", "review")


def test_a_referral_whose_device_is_blocklisted_is_a_fraud_label() -> None:
    # Given a referral from a device finance later blocked
    world = LiveWorld()
    program = world.program()
    _, code = world.advocate(program, "ann@example.com", "203.0.113.7", "dev-a")
    referral = world.referral(program, code, "b1@example.org", "192.0.2.10", "dev-bad")
    world.services.blocklist_entries.add("device", "dev-bad", None, "finance-1")
    # Then the export labels it fraud, from the blocklist
    label = _label_of(world, referral.referee_customer_id)
    assert label is not None and (label["label"], label["source"]) == ("fraud", "blocklist")


def test_an_unreviewed_unpaid_referral_has_no_label() -> None:
    world = LiveWorld()
    program = world.program()
    _, code = world.advocate(program, "ann@example.com", "203.0.113.7", "dev-a")
    referral = world.referral(program, code, "b1@example.org", "192.0.2.10", "dev-x")
    assert _label_of(world, referral.referee_customer_id) is None


def test_an_erased_customer_is_named_by_one_pseudonym_in_both_files() -> None:
    # Given a reviewed referee whose personal data was then erased
    world, referee = _reviewed("reject")
    world.services.customers.erase(referee, "privacy-1")
    # When the history is exported
    exported = world.export()
    # Then neither file names the customer, and both name the same pseudonym
    text = json.dumps(exported.ops) + json.dumps(exported.labels)
    assert referee not in text
    pseudonym = world.pseudonym(referee)
    assert [x["referee"] for x in exported.labels] == [pseudonym]
    named = {
        op.get("referee") or op["body"].get("referee", {}).get("customer_id")
        for op in exported.ops
        if op["op"] in ("referral", "event", "review")
    }
    assert pseudonym in named


def test_no_raw_email_device_or_ip_leaves_in_the_export() -> None:
    world, _ = _reviewed("approve")
    text = json.dumps(world.export().ops)
    for raw in ("ann@example.com", "b2@example.org", "dev-x", "192.0.2.11", "card-1"):
        assert raw not in text


def test_a_hashed_line_passes_its_stored_digests_into_the_replayed_fingerprint() -> None:
    # Given a referral exported with the live key's hashes
    world, referee = _reviewed("approve")
    live = world.referral_now_by(referee).fingerprint
    # When the export is replayed
    replay = Backtest(incremental=False)
    replay.run(parse_lines(json.dumps(op) for op in world.export().ops))
    # Then the replayed referral carries exactly the live digests
    referral_id = replay.referral_id_of(world.referral_now_by(referee).program_id, referee)
    assert referral_id is not None
    from shared.repositories.referrals import ReferralRepository

    replayed = ReferralRepository(replay.table).get(referral_id)
    assert replayed is not None
    # Intake attributes are derived again from the replay's stand-in values; the digests,
    # which every feature reads, are the live ones.
    ignore = {"attributes"}
    assert replayed.fingerprint.model_dump(exclude=ignore) == live.model_dump(exclude=ignore)


def test_raw_lines_are_still_hashed_with_the_replay_key() -> None:
    hasher = KnownDigests(b"k" * 32)
    assert hasher.digest(PiiKind.DEVICE, "dev-1") == PiiHasher(lambda: b"k" * 32).digest(
        PiiKind.DEVICE, "dev-1"
    )


def test_a_stand_in_mailbox_keeps_the_live_similarity() -> None:
    for similarity in (0.1429, 0.3529, 0.4, 0.9524, 0.95, 1.0):
        mailbox = referee_mailbox(similarity)
        assert email_local_similarity(f"{mailbox}@x.invalid", f"{'z' * 40}@y.invalid") == similarity


def test_a_referral_paid_and_kept_for_thirty_days_is_a_legit_label() -> None:
    # Given a history replayed through the services, whose referral was paid out
    replay = Backtest(incremental=False)
    replay.run(parse_lines(json.dumps(op) for op in _paid_history()))
    stored = StoredHistory(replay.table)

    def pseudonym(customer_id: str) -> str:
        return replay.hasher.digest(PiiKind.CUSTOMER, customer_id)

    # When exported 60 days later, and when exported the day after the payout
    later = replay.clock.now() + timedelta(days=60)
    settled = HistoryExport(stored, pseudonym, later).export().labels
    early = HistoryExport(stored, pseudonym, replay.clock.now()).export().labels
    # Then only the settled export labels it legit
    assert [(x["referee"], x["label"], x["source"]) for x in settled] == [
        ("r-1", "legit", "refund")
    ]
    assert early == []


def _paid_history() -> list[dict[str, Any]]:
    program = {
        "name": "p",
        "qualifying_event": "purchase",
        "min_order_value": "20.00",
        "rewards": {"advocate": {"kind": "gift_card", "amount": "10.00", "currency": "USD"}},
        "holding_period_days": 1,
        "budget": {"amount": "1000.00", "currency": "USD"},
    }
    ctx = {"ip": "203.0.113.7", "device_id": "dev-a", "country": "US"}
    return [
        {"op": "program", "at": "2026-01-01T00:00:00Z", "ref": "p1", "body": program},
        {
            "op": "advocate",
            "at": "2026-01-01T01:00:00Z",
            "program": "p1",
            "body": {"customer_id": "a-1", "email": "ann@example.com", "context": ctx},
        },
        {
            "op": "referral",
            "at": "2026-01-02T01:00:00Z",
            "program": "p1",
            "advocate": "a-1",
            "body": {
                "referee": {"customer_id": "r-1", "email": "bob@example.org"},
                "context": {"ip": "198.51.100.9", "device_id": "dev-b", "country": "US"},
            },
        },
        {
            "op": "event",
            "at": "2026-01-04T01:00:00Z",
            "program": "p1",
            "referee": "r-1",
            "body": {
                "type": "purchase",
                "order_id": "o-1",
                "amount": "45.00",
                "currency": "USD",
                "payment_fingerprint": "card-b",
            },
        },
        {
            "op": "refund",
            "at": "2026-01-09T01:00:00Z",
            "program": "p1",
            "referee": "nobody",
            "body": {"order_id": "x", "amount": "1.00", "currency": "USD"},
        },
    ]


def _clawed_back_twice() -> list[dict[str, Any]]:
    """Two referrals of one advocate paid, then both purchases refunded in full."""
    ops = _paid_history()[:4]
    ops.append(
        {
            "op": "referral",
            "at": "2026-01-02T02:00:00Z",
            "program": "p1",
            "advocate": "a-1",
            "body": {
                "referee": {"customer_id": "r-2", "email": "carol@example.net"},
                "context": {"ip": "192.0.2.80", "device_id": "dev-c", "country": "US"},
            },
        }
    )
    ops.append(
        {
            "op": "event",
            "at": "2026-01-04T02:00:00Z",
            "program": "p1",
            "referee": "r-2",
            "body": {
                "type": "purchase",
                "order_id": "o-2",
                "amount": "45.00",
                "currency": "USD",
                "payment_fingerprint": "card-c",
            },
        }
    )
    for n, referee in ((1, "r-1"), (2, "r-2")):
        ops.append(
            {
                "op": "refund",
                "at": f"2026-01-10T0{n}:00:00Z",
                "program": "p1",
                "referee": referee,
                "body": {"order_id": f"o-{n}", "amount": "45.00", "currency": "USD"},
            }
        )
    return sorted(ops, key=lambda op: op["at"])


def test_clawbacks_of_an_advocate_clawed_back_twice_are_fraud_labels() -> None:
    # Given an advocate whose two paid referrals were both refunded after payout
    replay = Backtest(incremental=False)
    replay.run(parse_lines(json.dumps(op) for op in _clawed_back_twice()))

    # When the history is exported
    def pseudonym(customer_id: str) -> str:
        return replay.hasher.digest(PiiKind.CUSTOMER, customer_id)

    labels = HistoryExport(StoredHistory(replay.table), pseudonym, replay.clock.now()).export()

    # Then both are fraud labels from the repeated clawbacks
    found = sorted((x["referee"], x["label"], x["source"]) for x in labels.labels)
    assert found == [("r-1", "fraud", "clawback"), ("r-2", "fraud", "clawback")]


def test_a_single_clawback_is_no_label() -> None:
    ops = [
        op for op in _clawed_back_twice() if not (op["op"] == "refund" and op["referee"] == "r-2")
    ]
    replay = Backtest(incremental=False)
    replay.run(parse_lines(json.dumps(op) for op in ops))

    def pseudonym(customer_id: str) -> str:
        return replay.hasher.digest(PiiKind.CUSTOMER, customer_id)

    labels = HistoryExport(StoredHistory(replay.table), pseudonym, replay.clock.now()).export()
    assert [x["referee"] for x in labels.labels if x["referee"] == "r-1"] == []


def test_a_points_program_is_exported_as_a_body_the_backtest_accepts() -> None:
    # Given a program rewarding points, as stored
    body = program_body(point_value={"amount": "0.01", "currency": "USD"})
    body["rewards"]["advocate"] = {"kind": "points", "points": "500"}
    body["tiers"][0]["advocate_bonus"] = {"kind": "points", "points": "2500"}
    services = services_on(MemoryTable(), FixedClock(T0))
    program = services.programs.create(ProgramCreate.model_validate(body).command())

    # When it is exported, then its body reads back to the same terms
    again = ProgramCreate.model_validate(program_op(program)["body"]).command()
    assert again.advocate_reward == program.advocate_reward
    assert again.tiers[0].advocate_bonus == program.tiers[0].advocate_bonus


DONATION = {"kind": "charity_donation", "amount": "5.00", "currency": "USD", "charity": "wwf"}
COMMISSION = {"kind": "cash", "percent_of_order": "12.5", "currency": "USD", "max": "40.00"}
EVERY_TERM = {
    "a donation": {"rewards": {"advocate": DONATION}},
    "a recurring commission": {
        "rewards": {"advocate": COMMISSION},
        "recurring_months": 6,
        "tiers": [],
    },
    "monthly caps": {
        "caps": {
            "per_advocate_per_month": {"amount": "50.00", "currency": "USD"},
            "over_cap": "refuse",
        }
    },
    "incentive variants": {
        "variants": [
            {"name": "double", "weight": 1, "rewards": {"advocate": DONATION}},
            {
                "name": "points",
                "weight": 3,
                "rewards": {"referee": {"kind": "points", "points": "700"}},
            },
        ],
        "point_value": {"amount": "0.01", "currency": "USD"},
    },
}


@pytest.mark.parametrize("overrides", EVERY_TERM.values(), ids=EVERY_TERM.keys())
def test_an_exported_program_reads_back_to_the_same_terms(overrides: dict[str, Any]) -> None:
    # Given a program created with one of each kind of term
    services = services_on(MemoryTable(), FixedClock(T0))
    made = ProgramCreate.model_validate(program_body(**overrides)).command()
    program = services.programs.create(made)

    # When it is exported and the body read back
    again = ProgramCreate.model_validate(program_op(program)["body"]).command()

    # Then every term is the one the program was created with
    assert again == replace(made, occurred_at=None)
