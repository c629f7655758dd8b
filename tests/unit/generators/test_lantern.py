"""The meal-kit traffic generator writes well-formed, reproducible, labelled operations."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from generators.lantern.cli import PATTERNS, generate, main

README = Path(__file__).resolve().parents[3] / "generators" / "lantern" / "README.md"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
AMOUNT = re.compile(r"^\d+\.\d{2}$")


def _at(record: dict) -> datetime:
    return datetime.strptime(record["at"], "%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def full_run() -> tuple[list[dict], list[dict]]:
    world = generate(seed=11, days=60, scale=1.0)
    return world.sorted_ops(), world.labels


def _programs(ops: list[dict]) -> dict[str, dict]:
    return {op["ref"]: op["body"] for op in ops if op["op"] == "program"}


def test_the_same_seed_writes_byte_identical_files(tmp_path: Path) -> None:
    # Given two runs with one seed
    paths = []
    for run in ("a", "b"):
        events, labels = tmp_path / f"{run}-events.jsonl", tmp_path / f"{run}-labels.jsonl"
        # When each writes its files
        args = ["--seed", "5", "--scale", "0.2", "--out", str(events), "--labels", str(labels)]
        assert main(args) == 0
        paths.append((events.read_bytes(), labels.read_bytes()))
    # Then the bytes are the same
    assert paths[0] == paths[1]


def test_another_seed_writes_other_traffic() -> None:
    # Given two seeds, When generating, Then the operations differ
    assert generate(1, scale=0.1).sorted_ops() != generate(2, scale=0.1).sorted_ops()


def test_scale_one_gives_four_to_six_thousand_referrals(full_run) -> None:
    ops, _ = full_run
    referrals = sum(op["op"] == "referral" for op in ops)
    assert 4000 <= referrals <= 6000


def test_operations_are_sorted_by_time_with_utc_timestamps(full_run) -> None:
    ops, _ = full_run
    assert all(TIMESTAMP.match(op["at"]) for op in ops)
    times = [_at(op) for op in ops]
    assert times == sorted(times)


def test_every_referral_has_exactly_one_label(full_run) -> None:
    ops, labels = full_run
    referred = Counter((op["program"], op["body"]["referee"]["customer_id"])
                       for op in ops if op["op"] == "referral")  # fmt: skip
    labelled = Counter((label["program"], label["referee"]) for label in labels)
    assert referred == labelled
    assert max(referred.values()) == 1
    assert {label["label"] for label in labels} == {"fraud", "legit"}


def test_amounts_carry_two_decimals_in_the_program_currency(full_run) -> None:
    ops, _ = full_run
    programs = _programs(ops)
    for op in ops:
        if op["op"] in ("event", "refund"):
            currency = programs[op["program"]]["rewards"]["advocate"]["currency"]
            assert AMOUNT.match(op["body"]["amount"]), op
            assert op["body"]["currency"] == currency, op


def test_programs_keep_one_currency_each_and_differ_between_markets(full_run) -> None:
    programs = _programs(full_run[0])
    currencies = set()
    for body in programs.values():
        found = {body["rewards"]["advocate"]["currency"], body["rewards"]["referee"]["currency"],
                 body["budget"]["currency"]}  # fmt: skip
        found |= {t["advocate_bonus"]["currency"] for t in body["tiers"]}
        assert len(found) == 1
        currencies |= found
    assert currencies == {"EUR", "GBP"}


def test_contexts_are_short_strings_with_alpha2_countries(full_run) -> None:
    ops, _ = full_run
    for op in ops:
        if op["op"] in ("advocate", "referral"):
            context = op["body"]["context"]
            assert set(context) <= {"ip", "device_id", "user_agent", "country"}
            assert all(isinstance(v, str) and len(v) <= 512 for v in context.values())
            assert re.match(r"^[A-Z]{2}$", context["country"])


def test_advocates_are_enrolled_before_they_refer(full_run) -> None:
    ops, _ = full_run
    enrolled: dict[tuple[str, str], datetime] = {}
    for op in ops:
        if op["op"] == "advocate":
            enrolled.setdefault((op["program"], op["body"]["customer_id"]), _at(op))
        if op["op"] == "referral":
            assert enrolled[(op["program"], op["advocate"])] < _at(op)


def test_purchases_follow_their_referral_with_unique_order_ids(full_run) -> None:
    ops, _ = full_run
    referred = {(op["program"], op["body"]["referee"]["customer_id"]): _at(op)
                for op in ops if op["op"] == "referral"}  # fmt: skip
    orders = [op for op in ops if op["op"] == "event"]
    assert all(_at(op) > referred[(op["program"], op["referee"])] for op in orders)
    assert len({op["body"]["order_id"] for op in orders}) == len(orders)


def test_refunds_follow_the_order_and_never_exceed_what_is_left(full_run) -> None:
    ops, _ = full_run
    left: dict[str, Decimal] = {}
    paid_at: dict[str, datetime] = {}
    for op in ops:
        if op["op"] == "event":
            left[op["body"]["order_id"]] = Decimal(op["body"]["amount"])
            paid_at[op["body"]["order_id"]] = _at(op)
        if op["op"] == "refund":
            order = op["body"]["order_id"]
            assert _at(op) > paid_at[order]
            left[order] -= Decimal(op["body"]["amount"])
            assert left[order] >= 0


def test_fraud_is_six_to_twelve_percent_of_converted_referrals(full_run) -> None:
    ops, labels = full_run
    programs = _programs(ops)
    referred = {(op["program"], op["body"]["referee"]["customer_id"]): _at(op)
                for op in ops if op["op"] == "referral"}  # fmt: skip
    converted = set()
    for op in ops:
        if op["op"] != "event":
            continue
        key, rules = (op["program"], op["referee"]), programs[op["program"]]
        window = timedelta(days=rules["attribution_window_days"])
        big_enough = Decimal(op["body"]["amount"]) >= Decimal(rules["min_order_value"])
        if big_enough and _at(op) - referred[key] <= window:
            converted.add(key)
    fraud = sum((label["program"], label["referee"]) in converted
                for label in labels if label["label"] == "fraud")  # fmt: skip
    assert 0.06 <= fraud / len(converted) <= 0.12


def test_every_pattern_in_the_readme_appears_at_full_scale(full_run) -> None:
    _, labels = full_run
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", README.read_text(), re.MULTILINE))
    seen = {label["pattern"] for label in labels}
    assert documented == {name for name, _, _ in PATTERNS}
    assert documented <= seen
