"""The local stack with its table on moto (`rewards serve --engine moto`) or in-process (the
default) records and scores a referral end to end. Each test starts its own stack, since an
embedded stack installs its table for the whole process."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from shared.local.load import run_load, tokens_for
from shared.local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]


def test_a_referral_is_recorded_purchased_and_scored_with_the_table_on_moto(
    tmp_path: Path,
) -> None:
    # Given the stack serving its table from DynamoDB on moto
    with LocalStack(ROOT, port=0, state_dir=tmp_path, engine="moto") as stack:
        # When one client records a referral, posts its purchase and reads it until scored
        result = run_load(stack.url, tokens_for(ROOT), clients=1, referrals_per_client=1)
        # Then it was scored, without errors, and the items are in moto's table
        assert (result.count, result.errors, result.read_back_failures) == (1, [], [])
        scanned = stack.client("dynamodb").scan(
            TableName=stack.physical_id("Table"), Select="COUNT"
        )
        assert scanned["Count"] > 0
        assert stack.table is None


def test_the_default_engine_keeps_the_table_in_process_and_out_of_moto(tmp_path: Path) -> None:
    # Given the stack on its default, embedded engine
    with LocalStack(ROOT, port=0, state_dir=tmp_path) as stack:
        # When one referral is recorded and scored
        result = run_load(stack.url, tokens_for(ROOT), clients=1, referrals_per_client=1)
        # Then its items are in the embedded engine and moto's table stays empty
        assert (result.count, result.errors) == (1, [])
        scanned = stack.client("dynamodb").scan(
            TableName=stack.physical_id("Table"), Select="COUNT"
        )
        assert scanned["Count"] == 0
        assert stack.table is not None and stack.table.all_items()


def test_the_embedded_table_survives_a_clean_restart_of_the_same_state_dir(
    tmp_path: Path,
) -> None:
    # Given a stack on the embedded engine that recorded a referral and stopped cleanly
    with LocalStack(ROOT, port=0, state_dir=tmp_path) as first:
        run_load(first.url, tokens_for(ROOT), clients=1, referrals_per_client=1)
        assert first.table is not None
        before = first.table.all_items()
    saved = tmp_path / "dynamodb" / "table.jsonl"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    # When a new stack starts on the same state dir
    with LocalStack(ROOT, port=0, state_dir=tmp_path) as second:
        # Then it holds the same items
        assert second.table is not None
        assert sorted(second.table.all_items(), key=_key) == sorted(before, key=_key)


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return (str(item["pk"]), str(item["sk"]))
