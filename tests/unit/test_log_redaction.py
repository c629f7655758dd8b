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


def test_emails_and_ips_in_free_text_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    logger = make_logger("redaction-text")
    logger.warning("payout to ann@example.com failed from 203.0.113.9 and 2001:db8:0:0:0:0:2:1")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "ann@example.com" not in line and "203.0.113.9" not in line
    assert "2001:db8" not in line
    assert json.loads(line)["message"].startswith("payout to [redacted email]")


def test_exception_text_and_stack_trace_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    logger = make_logger("redaction-exception")
    try:
        raise ValueError("recipient carol@example.net refused")
    except ValueError:
        logger.exception("payout failed")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "carol@example.net" not in line
    assert "[redacted email]" in json.loads(line)["exception"]


def test_product_modules_log_through_the_redacting_setup(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    make_logger("redaction-test")
    logging.getLogger("shared.services.example").warning(
        "refund", extra={"referral_id": "ref_1", "email": "dan@example.org"}
    )
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["referral_id"] == "ref_1"
    assert record["email"] == "[redacted]"
