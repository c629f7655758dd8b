"""Idempotency records spread over many partition keys instead of sharing one."""

from __future__ import annotations

from shared.http.idempotency import IDEMPOTENCY_SHARDS, record_key


def test_a_records_key_is_the_same_every_time_and_keeps_the_idempotency_key_as_sort_key() -> None:
    assert record_key("rewards-api.execute#abc") == record_key("rewards-api.execute#abc")
    assert record_key("rewards-api.execute#abc")[1] == "rewards-api.execute#abc"


def test_a_thousand_keys_spread_over_most_of_the_shards() -> None:
    partitions = {record_key(f"rewards-api.execute#{n}")[0] for n in range(1000)}

    assert all(p.startswith("IDEMPOTENCY#") for p in partitions)
    assert len(partitions) > IDEMPOTENCY_SHARDS * 0.9
