"""The synthetic generator writes valid, ordered, labelled backtest traffic."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from shared.training.generator import (
    FRAUD_PATTERNS,
    HELD_OUT_PATTERN,
    LEGIT_PATTERNS,
    generate,
    gmail_variant,
    main,
)

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MONEY = re.compile(r"^\d+\.\d{2}$")
CONTEXT_KEYS = {"ip", "device_id", "user_agent", "country"}


@pytest.fixture(scope="module")
def default_run() -> tuple[list[str], list[dict[str, str]]]:
    return generate(7)


def parsed(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def at(op: dict) -> datetime:
    return datetime.strptime(op["at"], "%Y-%m-%dT%H:%M:%SZ")


def test_same_seed_same_output() -> None:
    assert generate(11, 3, 200) == generate(11, 3, 200)
    assert generate(12, 3, 200)[0] != generate(11, 3, 200)[0]


def test_default_size_is_about_13k_ops(default_run: tuple[list[str], list[dict[str, str]]]) -> None:
    lines, labels = default_run
    assert 11_000 <= len(lines) <= 15_000
    fraud_share = sum(entry["label"] == "fraud" for entry in labels) / len(labels)
    assert 0.04 <= fraud_share <= 0.12


def test_ops_are_time_ordered_with_iso_z(
    default_run: tuple[list[str], list[dict[str, str]]],
) -> None:
    ops = parsed(default_run[0])
    assert all(ISO_Z.match(op["at"]) for op in ops)
    times = [at(op) for op in ops]
    assert times == sorted(times)


def test_ops_follow_the_backtest_format(
    default_run: tuple[list[str], list[dict[str, str]]],
) -> None:
    ops = parsed(default_run[0])
    programs: dict[str, dict] = {}
    advocates: set[tuple[str, str]] = set()
    referrals: dict[tuple[str, str], datetime] = {}
    orders: dict[str, tuple[tuple[str, str], datetime, Decimal]] = {}
    for op in ops:
        kind = op["op"]
        assert kind in {"program", "advocate", "referral", "event", "refund"}
        if kind == "program":
            assert set(op) == {"op", "at", "ref", "body"}
            body = op["body"]
            assert body["qualifying_event"] == "purchase"
            assert MONEY.match(body["min_order_value"])
            programs[op["ref"]] = body
            continue
        program = op["program"]
        assert program in programs, "ops refer to programs created before them"
        currency = programs[program]["budget"]["currency"]
        if kind == "advocate":
            assert set(op) == {"op", "at", "program", "body"}
            assert set(op["body"]) == {"customer_id", "email", "context"}
            assert set(op["body"]["context"]) <= CONTEXT_KEYS
            assert "@" in op["body"]["email"]
            advocates.add((program, op["body"]["customer_id"]))
        elif kind == "referral":
            assert set(op) == {"op", "at", "program", "advocate", "body"}
            assert (program, op["advocate"]) in advocates, "advocate enrolled first"
            assert set(op["body"]) == {"referee", "context"}
            assert set(op["body"]["referee"]) == {"customer_id", "email"}
            assert set(op["body"]["context"]) <= CONTEXT_KEYS
            key = (program, op["body"]["referee"]["customer_id"])
            assert key not in referrals, "one referral per referee per program"
            referrals[key] = at(op)
        elif kind == "event":
            assert set(op) == {"op", "at", "program", "referee", "body"}
            key = (program, op["referee"])
            assert key in referrals and at(op) >= referrals[key]
            body = op["body"]
            assert set(body) == {"type", "order_id", "amount", "currency", "payment_fingerprint"}
            assert body["type"] == "purchase" and body["currency"] == currency
            assert MONEY.match(body["amount"])
            assert body["order_id"] not in orders
            orders[body["order_id"]] = (key, at(op), Decimal(body["amount"]))
        else:
            assert set(op) == {"op", "at", "program", "referee", "body"}
            body = op["body"]
            assert set(body) == {"order_id", "amount", "currency"}
            key, bought, amount = orders[body["order_id"]]
            assert key == (program, op["referee"]) and at(op) >= bought
            assert MONEY.match(body["amount"]) and Decimal(body["amount"]) <= amount
            assert body["currency"] == currency


def test_labels_match_referral_ops(default_run: tuple[list[str], list[dict[str, str]]]) -> None:
    lines, labels = default_run
    referral_keys = [
        (op["program"], op["body"]["referee"]["customer_id"], op["advocate"])
        for op in parsed(lines)
        if op["op"] == "referral"
    ]
    label_keys = [(e["program"], e["referee"], e["advocate"]) for e in labels]
    assert sorted(referral_keys) == sorted(label_keys)
    assert len(set(label_keys)) == len(label_keys)
    for entry in labels:
        assert entry["label"] in ("legit", "fraud")
        expected = FRAUD_PATTERNS if entry["label"] == "fraud" else LEGIT_PATTERNS
        assert entry["pattern"] in expected


def test_every_pattern_is_present_including_the_held_out_one(
    default_run: tuple[list[str], list[dict[str, str]]],
) -> None:
    counts = Counter(entry["pattern"] for entry in default_run[1])
    assert HELD_OUT_PATTERN in FRAUD_PATTERNS
    assert counts[HELD_OUT_PATTERN] >= 20
    assert len(FRAUD_PATTERNS) >= 6
    for pattern in (*FRAUD_PATTERNS, *LEGIT_PATTERNS):
        assert counts[pattern] > 0, pattern


def test_qualifying_purchases_reach_the_minimum(
    default_run: tuple[list[str], list[dict[str, str]]],
) -> None:
    ops = parsed(default_run[0])
    minimum = {
        op["ref"]: Decimal(op["body"]["min_order_value"]) for op in ops if op["op"] == "program"
    }
    first_qualifying: dict[tuple[str, str], Decimal] = {}
    for op in ops:
        if op["op"] == "event":
            amount = Decimal(op["body"]["amount"])
            if amount >= minimum[op["program"]]:
                first_qualifying.setdefault((op["program"], op["referee"]), amount)
    referrals = sum(1 for op in ops if op["op"] == "referral")
    assert len(first_qualifying) > 0.7 * referrals


def test_overlap_exists_between_legit_and_fraud_signals(
    default_run: tuple[list[str], list[dict[str, str]]],
) -> None:
    ops = parsed(default_run[0])
    labels = {(e["program"], e["referee"]): e for e in default_run[1]}
    advocate_ctx = {
        (op["program"], op["body"]["customer_id"]): op["body"]["context"]
        for op in ops
        if op["op"] == "advocate"
    }
    same_ip = Counter()
    for op in ops:
        if op["op"] != "referral":
            continue
        entry = labels[(op["program"], op["body"]["referee"]["customer_id"])]
        if op["body"]["context"]["ip"] == advocate_ctx[(op["program"], op["advocate"])]["ip"]:
            same_ip[entry["label"]] += 1
    # Households share an IP with the advocate too: the signal is not a fraud oracle.
    assert same_ip["legit"] > 0 and same_ip["fraud"] > 0


def test_gmail_variant_is_an_alias() -> None:
    import random

    rng = random.Random(0)
    for _ in range(50):
        variant = gmail_variant("mark.jensen", rng)
        assert variant != "mark.jensen"
        assert variant.split("+")[0].replace(".", "") == "markjensen"


def test_entry_point_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, labels = tmp_path / "train.jsonl", tmp_path / "train.labels.jsonl"
    code = main(["--seed", "3", "--advocates", "150", "--out", str(out), "--labels", str(labels)])
    assert code == 0
    lines = out.read_text().splitlines()
    sidecar = [json.loads(line) for line in labels.read_text().splitlines()]
    assert lines == generate(3, 3, 150)[0]
    assert len(sidecar) == sum(1 for line in lines if '"op":"referral"' in line)
    assert "ops" in capsys.readouterr().out
