"""The harbor traffic generator writes well-formed, deterministic, fully labelled traffic."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from generators.harbor.cli import main

README = Path(__file__).resolve().parents[3] / "generators" / "harbor" / "README.md"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
AMOUNT = re.compile(r"^\d+\.\d\d$")


def run(directory: Path, seed: int, scale: float, days: int = 60) -> tuple[Path, Path]:
    events, labels = directory / f"events-{seed}-{scale}.jsonl", directory / f"labels-{seed}.jsonl"
    argv = ["--seed", str(seed), "--out", str(events), "--labels", str(labels)]
    assert main([*argv, "--scale", str(scale), "--days", str(days)]) == 0
    return events, labels


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], list[dict]]:
    events, labels = run(tmp_path_factory.mktemp("harbor"), seed=11, scale=1.0)
    return read(events), read(labels)


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    # Given two runs with one seed, each in its own directory
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run(tmp_path / "a", 5, 0.2)
    second = run(tmp_path / "b", 5, 0.2)
    # Then both files are identical
    assert first[0].read_bytes() == second[0].read_bytes()
    assert first[1].read_bytes() == second[1].read_bytes()


def test_another_seed_writes_other_traffic(tmp_path: Path) -> None:
    # Given runs with two seeds
    one, _ = run(tmp_path, 5, 0.2)
    other, _ = run(tmp_path, 6, 0.2)
    # Then the traffic differs
    assert one.read_bytes() != other.read_bytes()


def test_events_are_in_time_order_with_utc_stamps(full_run: tuple[list[dict], list[dict]]) -> None:
    events, _ = full_run
    assert all(STAMP.match(event["at"]) for event in events)
    stamps = [seconds(event["at"]) for event in events]
    assert stamps == sorted(stamps)


def test_the_volume_is_a_season_of_referrals(full_run: tuple[list[dict], list[dict]]) -> None:
    events, _ = full_run
    referrals = [event for event in events if event["op"] == "referral"]
    assert 4_000 <= len(referrals) <= 6_000


def test_every_referral_has_exactly_one_label(full_run: tuple[list[dict], list[dict]]) -> None:
    events, labels = full_run
    referred = [
        (e["program"], e["body"]["referee"]["customer_id"]) for e in events if e["op"] == "referral"
    ]
    labelled = [(label["program"], label["referee"]) for label in labels]
    assert labelled == referred
    assert len(set(referred)) == len(referred)
    assert {label["label"] for label in labels} == {"fraud", "legit"}


def test_amounts_carry_two_decimals_in_the_programs_currency(
    full_run: tuple[list[dict], list[dict]],
) -> None:
    events, _ = full_run
    currency = {e["ref"]: e["body"]["budget"]["currency"] for e in events if e["op"] == "program"}
    money = [e for e in events if e["op"] in ("event", "refund")]
    assert money
    for event in money:
        assert AMOUNT.match(event["body"]["amount"])
        assert event["body"]["currency"] == currency[event["program"]]


def test_contexts_are_short_strings_with_a_country_code(
    full_run: tuple[list[dict], list[dict]],
) -> None:
    events, _ = full_run
    contexts = [e["body"]["context"] for e in events if e["op"] in ("advocate", "referral")]
    for ctx in contexts:
        assert all(isinstance(value, str) and len(value) <= 512 for value in ctx.values())
        assert re.fullmatch(r"[A-Z]{2}", ctx["country"])


def test_referrals_follow_the_advocates_enrolment(full_run: tuple[list[dict], list[dict]]) -> None:
    events, _ = full_run
    enrolled: dict[tuple[str, str], float] = {}
    for event in events:
        if event["op"] == "advocate":
            enrolled.setdefault(
                (event["program"], event["body"]["customer_id"]), seconds(event["at"])
            )
        if event["op"] == "referral":
            assert enrolled[(event["program"], event["advocate"])] < seconds(event["at"])


def test_purchases_follow_their_referral_with_unique_order_ids(
    full_run: tuple[list[dict], list[dict]],
) -> None:
    events, _ = full_run
    referred = {
        (e["program"], e["body"]["referee"]["customer_id"]): seconds(e["at"])
        for e in events
        if e["op"] == "referral"
    }
    orders = [e for e in events if e["op"] == "event"]
    assert len({order["body"]["order_id"] for order in orders}) == len(orders)
    for order in orders:
        assert referred[(order["program"], order["referee"])] < seconds(order["at"])


def test_refunds_follow_their_order_and_never_exceed_it(
    full_run: tuple[list[dict], list[dict]],
) -> None:
    events, _ = full_run
    left: dict[str, Decimal] = {}
    placed: dict[str, float] = {}
    refunds = 0
    for event in events:
        body = event["body"]
        if event["op"] == "event":
            left[body["order_id"]] = Decimal(body["amount"])
            placed[body["order_id"]] = seconds(event["at"])
        if event["op"] == "refund":
            refunds += 1
            left[body["order_id"]] -= Decimal(body["amount"])
            assert left[body["order_id"]] >= 0
            assert placed[body["order_id"]] < seconds(event["at"])
    assert refunds > 0


def test_fraud_is_six_to_twelve_percent_of_converted_referrals(
    full_run: tuple[list[dict], list[dict]],
) -> None:
    events, labels = full_run
    minimum = {
        e["ref"]: Decimal(e["body"]["min_order_value"]) for e in events if e["op"] == "program"
    }
    converted = {
        (e["program"], e["referee"])
        for e in events
        if e["op"] == "event" and Decimal(e["body"]["amount"]) >= minimum[e["program"]]
    }
    fraud = [
        x for x in labels if (x["program"], x["referee"]) in converted and x["label"] == "fraud"
    ]
    assert 0.06 <= len(fraud) / len(converted) <= 0.12


def test_every_pattern_in_the_readme_appears(full_run: tuple[list[dict], list[dict]]) -> None:
    _, labels = full_run
    documented = set(
        re.findall(r"^\| `([a-z_]+)` \| (?:legit|fraud) \|", README.read_text(), re.MULTILINE)
    )
    assert len(documented) >= 15
    assert documented == {label["pattern"] for label in labels}


def test_a_tenth_of_the_traffic_keeps_the_unique_patterns(tmp_path: Path) -> None:
    # Given a tenth of the traffic over 60 days
    _, labels = run(tmp_path, 3, 0.1)
    # Then the takeover and campus patterns are still there
    patterns = {label["pattern"] for label in read(labels)}
    assert {"account_takeover", "campus_network"} <= patterns
