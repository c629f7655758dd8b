"""The Meridian traffic generator writes valid, deterministic, fully labelled traffic."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from generators.meridian import fraud, legit
from generators.meridian.cli import generate, main

README = Path(__file__).resolve().parents[3] / "generators" / "meridian" / "README.md"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
AMOUNT = re.compile(r"^\d+\.\d{2}$")


def _at(op: dict) -> datetime:
    return datetime.strptime(op["at"], "%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def full() -> tuple[list[dict], list[dict]]:
    return generate(seed=20250203, days=60, scale=1.0)


@pytest.fixture(scope="module")
def programs(full: tuple[list[dict], list[dict]]) -> dict[str, dict]:
    ops, _ = full
    return {op["ref"]: op["body"] for op in ops if op["op"] == "program"}


def test_same_seed_gives_the_same_traffic_and_another_seed_does_not() -> None:
    # Given two runs with one seed and one with another
    first, second, other = (generate(seed, 30, 0.2) for seed in (41, 41, 42))
    # Then the same seed repeats itself exactly, and the other seed differs
    assert first == second
    assert first != other


def test_ops_are_in_time_order_with_utc_second_timestamps(full) -> None:
    ops, _ = full
    assert all(TIMESTAMP.match(op["at"]) for op in ops)
    assert [op["at"] for op in ops] == sorted(op["at"] for op in ops)


def test_every_referral_has_exactly_one_label(full) -> None:
    ops, labels = full
    referrals = [
        (op["program"], op["body"]["referee"]["customer_id"])
        for op in ops
        if op["op"] == "referral"
    ]
    labelled = [(label["program"], label["referee"]) for label in labels]
    assert Counter(labelled) == Counter(referrals)
    assert len(set(referrals)) == len(referrals)  # one referral per referee and program
    assert {label["label"] for label in labels} == {"fraud", "legit"}


def test_volume_is_within_the_documented_range(full) -> None:
    ops, _ = full
    assert 4000 <= sum(op["op"] == "referral" for op in ops) <= 6000


def test_programs_use_one_currency_and_two_decimal_amounts(programs) -> None:
    assert len({body["rewards"]["advocate"]["currency"] for body in programs.values()}) >= 2
    for body in programs.values():
        money = [
            body["rewards"]["advocate"],
            body["rewards"]["referee"],
            body["budget"],
            *(tier["advocate_bonus"] for tier in body["tiers"]),
        ]
        currencies = {m["currency"] for m in money}
        assert len(currencies) == 1
        assert all(AMOUNT.match(m["amount"]) for m in money)
        assert AMOUNT.match(body["min_order_value"])


def test_contexts_are_short_strings_with_alpha2_countries(full) -> None:
    ops, _ = full
    contexts = [op["body"]["context"] for op in ops if op["op"] in {"advocate", "referral"}]
    for ctx in contexts:
        assert set(ctx) <= {"ip", "device_id", "user_agent", "country"}
        assert all(isinstance(v, str) and 0 < len(v) <= 512 for v in ctx.values())
        assert re.match(r"^[A-Z]{2}$", ctx.get("country", "AU"))


def test_advocates_enrol_before_they_refer(full) -> None:
    ops, _ = full
    enrolled: dict[tuple[str, str], datetime] = {}
    for op in ops:
        if op["op"] == "advocate":
            enrolled.setdefault((op["program"], op["body"]["customer_id"]), _at(op))
        elif op["op"] == "referral":
            assert _at(op) > enrolled[(op["program"], op["advocate"])]


def test_purchases_follow_their_referral_in_the_program_currency(full, programs) -> None:
    ops, _ = full
    referred: dict[tuple[str, str], datetime] = {}
    order_ids = []
    for op in ops:
        if op["op"] == "referral":
            referred[(op["program"], op["body"]["referee"]["customer_id"])] = _at(op)
        elif op["op"] == "event":
            body = op["body"]
            assert _at(op) > referred[(op["program"], op["referee"])]
            assert AMOUNT.match(body["amount"]) and Decimal(body["amount"]) > 0
            currency = programs[op["program"]]["rewards"]["advocate"]["currency"]
            assert body["currency"] == currency
            assert body["type"] == "purchase" and body["payment_fingerprint"]
            order_ids.append(body["order_id"])
    assert len(order_ids) == len(set(order_ids))


def test_refunds_follow_their_order_and_never_exceed_what_is_left(full) -> None:
    ops, _ = full
    orders: dict[str, tuple[datetime, Decimal, str]] = {}
    refunds = 0
    for op in ops:
        body = op["body"] if op["op"] in {"event", "refund"} else None
        if op["op"] == "event":
            orders[body["order_id"]] = (_at(op), Decimal(body["amount"]), body["currency"])
        elif op["op"] == "refund":
            placed, left, currency = orders[body["order_id"]]
            amount = Decimal(body["amount"])
            assert AMOUNT.match(body["amount"]) and body["currency"] == currency
            assert _at(op) > placed and 0 < amount <= left
            orders[body["order_id"]] = (placed, left - amount, currency)
            refunds += 1
    assert refunds > 0


def test_fraud_is_about_a_tenth_of_converted_referrals(full, programs) -> None:
    ops, labels = full
    kind = {(label["program"], label["referee"]): label["label"] for label in labels}
    referred: dict[tuple[str, str], datetime] = {}
    converted = set()
    for op in ops:
        if op["op"] == "referral":
            referred[(op["program"], op["body"]["referee"]["customer_id"])] = _at(op)
        elif op["op"] == "event":
            key, rules = (op["program"], op["referee"]), programs[op["program"]]
            window = rules["attribution_window_days"]
            in_window = (_at(op) - referred[key]).days < window
            if in_window and Decimal(op["body"]["amount"]) >= Decimal(rules["min_order_value"]):
                converted.add(key)
    share = sum(kind[key] == "fraud" for key in converted) / len(converted)
    assert 0.08 <= share <= 0.16


def test_every_pattern_in_the_readme_appears_at_full_scale(full) -> None:
    _, labels = full
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", README.read_text(), re.MULTILINE))
    assert documented == set(legit.PATTERN_NAMES) | set(fraud.PATTERN_NAMES)
    assert documented <= {label["pattern"] for label in labels}


def test_command_line_writes_events_and_labels(tmp_path: Path) -> None:
    events, labels = tmp_path / "events.jsonl", tmp_path / "labels.jsonl"
    code = main(
        [
            "--seed",
            "3",
            "--out",
            str(events),
            "--labels",
            str(labels),
            "--days",
            "30",
            "--scale",
            "0.1",
        ]
    )
    assert code == 0
    rows = [json.loads(line) for line in events.read_text().splitlines()]
    assert rows[0]["op"] == "program"
    assert len(labels.read_text().splitlines()) == sum(r["op"] == "referral" for r in rows)
