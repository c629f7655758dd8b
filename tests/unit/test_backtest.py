"""The backtest: a recorded history replayed through the services on a simulated clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.backtest.ops import BacktestInputError, Op, parse_lines
from shared.backtest.replay import Backtest
from shared.cli import main
from tests.support import program_body

START = datetime.fromisoformat("2026-03-02T09:00:00+00:00")


_slots: dict[str, int] = {}


def _slot(name: str) -> int:
    """A /24 of its own for every party."""
    return _slots.setdefault(name, len(_slots))


def at(**delta: float) -> str:
    return (START + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def advocate(program: str, customer: str, when: str, **context: str) -> dict[str, Any]:
    ctx = {"ip": f"10.1.{_slot(customer)}.5", "device_id": f"d-{customer}", **context}
    return {
        "op": "advocate",
        "at": when,
        "program": program,
        "body": {"customer_id": customer, "email": f"{customer}@example.com", "context": ctx},
    }


def referral(
    program: str, by: str, referee: str, when: str, email: str | None = None, **context: str
) -> dict[str, Any]:
    ctx = {"ip": f"10.2.{_slot(referee)}.9", "device_id": f"d-{referee}", **context}
    return {
        "op": "referral",
        "at": when,
        "program": program,
        "advocate": by,
        "body": {
            "referee": {"customer_id": referee, "email": email or f"{referee}@example.org"},
            "context": ctx,
        },
    }


def purchase(program: str, referee: str, when: str, card: str | None = None) -> dict[str, Any]:
    return {
        "op": "event",
        "at": when,
        "program": program,
        "referee": referee,
        "body": {
            "type": "purchase",
            "order_id": f"o-{referee}",
            "amount": "45.00",
            "currency": "USD",
            "payment_fingerprint": card or f"c-{referee}",
        },
    }


def history() -> list[dict[str, Any]]:
    """Three days of one strict and one lenient program: friends, a ring, a device farm,
    an alias, a refund, a finance decision and some refused intake."""
    strict = program_body(holding_period_days=1)
    lenient = program_body(name="Lenient", auto_reject=False, holding_period_days=1)
    ops: list[dict[str, Any]] = [
        {"op": "program", "at": at(), "ref": "p1", "body": strict},
        {"op": "program", "at": at(), "ref": "p2", "body": lenient},
    ]
    for name in ("ann", "ben", "cat", "dan", "eve"):
        ops.append(advocate("p1", name, at(minutes=1)))
    ops.append(advocate("p2", "fay", at(minutes=1), device_id="fay-pc"))
    # friends who buy a few hours later
    for i, (adv, friend) in enumerate([("ann", "f1"), ("ben", "f2"), ("dan", "f3")]):
        ops.append(referral("p1", adv, friend, at(hours=1, minutes=i)))
        ops.append(purchase("p1", friend, at(hours=5, minutes=i)))
    # a ring ann -> rx -> ry -> ann, the referees enrolling as advocates
    ops += [
        referral("p1", "ann", "rx", at(hours=2)),
        purchase("p1", "rx", at(hours=3)),
        advocate("p1", "rx", at(hours=4)),
        referral("p1", "rx", "ry", at(hours=6)),
        purchase("p1", "ry", at(hours=7)),
        advocate("p1", "ry", at(hours=8)),
        referral("p1", "ry", "ann", at(hours=10)),
        purchase("p1", "ann", at(hours=11)),
    ]
    # a device farm: eve's referees all on two devices
    for i in range(5):
        name = f"farm{i}"
        ops.append(
            referral("p1", "eve", name, at(hours=12, minutes=7 * i), device_id=f"farm-{i % 2}")
        )
        ops.append(purchase("p1", name, at(hours=12, minutes=7 * i + 3)))
    # an alias in the lenient program goes to review; finance rejects it
    ops += [
        referral("p2", "fay", "fay2", at(hours=13), email="fay@example.com", device_id="fay-pc"),
        purchase("p2", "fay2", at(hours=13, minutes=2)),
        {
            "op": "review",
            "at": at(hours=20),
            "program": "p2",
            "referee": "fay2",
            "body": {"decision": "reject", "note": "same person", "by": "fin-1"},
        },
    ]
    # a refund before payout
    ops.append(
        {
            "op": "refund",
            "at": at(hours=14),
            "program": "p1",
            "referee": "f3",
            "body": {"order_id": "o-f3", "amount": "45.00", "currency": "USD"},
        }
    )
    # refused: an advocate who never enrolled, and the same referee twice
    ops.append(referral("p1", "nobody", "lost", at(hours=15)))
    ops.append(referral("p1", "ben", "f2", at(hours=16)))
    # a quiet tail so the holding period passes and the daily release pays
    ops.append(advocate("p1", "zed", at(days=3)))
    ops.sort(key=lambda op: op["at"])
    return ops


def ops() -> list[Op]:
    return list(parse_lines(json.dumps(op) for op in history()))


def by_referee(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["referee"]: line for line in lines if line["status"] != "refused"}


@pytest.fixture(scope="module")
def replay() -> list[dict[str, Any]]:
    return Backtest().run(ops()).lines


def test_one_line_per_referral_op_refused_ones_included(replay: list[dict[str, Any]]) -> None:
    referral_ops = [op for op in history() if op["op"] == "referral"]
    assert [(x["program"], x["referee"]) for x in replay] == [
        (op["program"], op["body"]["referee"]["customer_id"]) for op in referral_ops
    ]
    refused = [line for line in replay if line["status"] == "refused"]
    assert [(line["referee"], line["error"]["status"]) for line in refused] == [
        ("lost", 422),
        ("f2", 409),
    ]


def test_a_line_has_the_decision_format(replay: list[dict[str, Any]]) -> None:
    line = by_referee(replay)["f1"]
    assert set(line) == {"program", "referee", "status", "risk", "rewards"}
    assert set(line["risk"]) == {"score", "decision", "reasons", "model_version"}
    assert isinstance(line["risk"]["score"], float)


def test_friends_are_paid_after_the_holding_period(replay: list[dict[str, Any]]) -> None:
    line = by_referee(replay)["f1"]
    assert line["status"] in ("rewarding", "rewarded")
    beneficiaries = sorted(r["beneficiary"] for r in line["rewards"])
    assert beneficiaries == ["advocate", "referee"]
    assert all("reward_id" not in r and "referral_id" not in r for r in line["rewards"])


def test_the_whole_ring_is_rejected_once_it_closes(replay: list[dict[str, Any]]) -> None:
    lines = by_referee(replay)
    for referee in ("rx", "ry", "ann"):
        assert lines[referee]["status"] == "rejected", referee
        assert "RING" in [r["code"] for r in lines[referee]["risk"]["reasons"]]


def test_the_device_farm_is_caught(replay: list[dict[str, Any]]) -> None:
    lines = by_referee(replay)
    caught = [n for n in range(5) if lines[f"farm{n}"]["status"] in ("review", "rejected")]
    assert len(caught) == 5


def test_finance_decisions_and_refunds_are_replayed(replay: list[dict[str, Any]]) -> None:
    lines = by_referee(replay)
    assert lines["fay2"]["status"] == "rejected"
    assert lines["f3"]["status"] == "reversed"


def test_the_same_history_gives_the_same_file() -> None:
    first = Backtest().run(ops()).lines
    second = Backtest().run(ops()).lines
    assert json.dumps(first) == json.dumps(second)


def test_skipping_unchanged_referrals_changes_no_outcome() -> None:
    incremental = Backtest(incremental=True).run(ops())
    full = Backtest(incremental=False).run(ops())
    assert incremental.lines == full.lines
    assert incremental.stats["feature_extractions"] < 200


def test_features_of_each_scored_referral_are_available() -> None:
    result = Backtest().run(ops())
    scored = [f for line, f in zip(result.lines, result.features, strict=True) if line["risk"]]
    assert scored and all(f is not None and "ring_cycle" in f for f in scored)


class TestInput:
    def test_a_line_that_is_not_json_is_named(self) -> None:
        with pytest.raises(BacktestInputError, match="line 2"):
            list(parse_lines(['{"op":"program","at":"2026-01-01T00:00:00Z","ref":"p"}', "{"]))

    def test_an_unknown_op_is_refused(self) -> None:
        with pytest.raises(BacktestInputError, match="line 1: op"):
            list(parse_lines(['{"op":"teleport","at":"2026-01-01T00:00:00Z"}']))

    def test_a_referral_needs_its_advocate(self) -> None:
        line = '{"op":"referral","at":"2026-01-01T00:00:00Z","program":"p1","body":{}}'
        with pytest.raises(BacktestInputError, match="needs advocate"):
            list(parse_lines([line]))

    def test_labels_beside_an_op_are_kept(self) -> None:
        line = '{"op":"program","at":"2026-01-01T00:00:00Z","ref":"p","label":"x"}'
        [op] = parse_lines([line])
        assert op.model_extra == {"label": "x"}


class TestCommand:
    def test_writes_the_decisions_file(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        events = tmp_path / "events.jsonl"
        events.write_text("".join(json.dumps(op) + "\n" for op in history()))
        out = tmp_path / "out" / "decisions.jsonl"
        code = main(["backtest", str(events), "--out", str(out), "--models", str(tmp_path)])
        assert code == 0
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(lines) == sum(1 for op in history() if op["op"] == "referral")
        assert "rules only" in capsys.readouterr().err

    def test_off_a_terminal_it_reports_progress_in_plain_lines(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        events = tmp_path / "events.jsonl"
        events.write_text("".join(json.dumps(op) + "\n" for op in history()))

        main(["backtest", str(events), "--out", str(tmp_path / "d.jsonl"), "--models", "nope"])

        total = len(history())
        assert f"backtest: {total}/{total} op, done in" in capsys.readouterr().err

    def test_a_bad_input_fails_with_a_clear_message(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        events = tmp_path / "events.jsonl"
        events.write_text("not json\n")
        assert main(["backtest", str(events)]) == 1
        assert "line 1" in capsys.readouterr().err

    def test_a_missing_input_fails(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["backtest", str(tmp_path / "nope.jsonl")]) == 1
        assert "no such input file" in capsys.readouterr().err


def test_a_donating_program_with_a_monthly_allowance_replays_into_the_next_month() -> None:
    # Given a program donating $10 per referred purchase, $10 a month per advocate, and two
    # friends of one advocate buying at the end of March
    body = program_body(
        name="One for one",
        holding_period_days=0,
        tiers=[],
        rewards={
            "advocate": {
                "kind": "charity_donation",
                "amount": "10.00",
                "currency": "USD",
                "charity": "wwf",
            }
        },
        caps={"per_advocate_per_month": {"amount": "10.00", "currency": "USD"}},
    )
    march_end = datetime.fromisoformat("2026-03-29T09:00:00+00:00")

    def when(**delta: float) -> str:
        return (march_end + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")

    history = [
        {"op": "program", "at": when(), "ref": "g1", "body": body},
        advocate("g1", "gil", when(minutes=1)),
        referral("g1", "gil", "g-f1", when(hours=1)),
        purchase("g1", "g-f1", when(hours=2)),
        referral("g1", "gil", "g-f2", when(hours=3)),
        purchase("g1", "g-f2", when(hours=4)),
        advocate("g1", "quiet", when(days=5)),
    ]

    # When it is replayed (the daily release runs on the simulated clock)
    lines = by_referee(Backtest().run(parse_lines(json.dumps(op) for op in history)).lines)

    # Then both friends' donations are paid, one in March and one in April
    paid = [lines[f]["rewards"] for f in ("g-f1", "g-f2")]
    assert [[(r["kind"], r["charity"], r["status"]) for r in p] for p in paid] == [
        [("charity_donation", "wwf", "confirmed")]
    ] * 2
    months = sorted(r["created_at"][:7] for p in paid for r in p)
    assert months == ["2026-03", "2026-04"]
