"""Personal data never reaches the logs."""

from __future__ import annotations

import json

import pytest

from shared.adapters.logging import make_logger


def test_personal_fields_are_redacted_at_any_depth(capsys: pytest.CaptureFixture[str]) -> None:
    logger = make_logger("redaction-test")
    logger.info(
        "enrolled",
        extra={"advocate_id": "adv_1", "email": "a@example.com", "context": {"ip": "203.0.113.9"}},
    )
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["advocate_id"] == "adv_1"
    assert record["email"] == "[redacted]"
    assert record["context"] == {"ip": "[redacted]"}
    assert "a@example.com" not in json.dumps(record)
