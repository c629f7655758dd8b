"""Least privilege, checked on template.yaml itself (moto does not enforce IAM)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
FUNCTIONS = {
    name: resource
    for name, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}
WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}


def _statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in function["Properties"].get("Policies", []):
        assert isinstance(policy, dict) and "Statement" in policy, (
            "policies are inline statements, not managed or SAM policy templates"
        )
        statements += policy["Statement"]
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_function_is_granted_a_wildcard_action_or_resource() -> None:
    for name, function in FUNCTIONS.items():
        for statement in _statements(function):
            for action in _as_list(statement["Action"]):
                assert "*" not in action, f"{name} has wildcard action {action}"
            for resource in _as_list(statement["Resource"]):
                assert resource != "*", f"{name} is granted every resource"


def test_no_function_may_scan_the_table() -> None:
    for name, function in FUNCTIONS.items():
        actions = {a for s in _statements(function) for a in _as_list(s["Action"])}
        assert "dynamodb:Scan" not in actions, f"{name} may scan"


def test_the_openapi_function_has_no_data_access() -> None:
    assert _statements(FUNCTIONS["ApiDocsFunction"]) == []


def test_functions_that_only_read_hold_no_write_action() -> None:
    readers = [
        name
        for name, function in FUNCTIONS.items()
        if function.get("Metadata", {}).get("Access") == "read-only"
    ]
    assert "RewardsFunction" in readers
    for name in readers:
        actions = {a for s in _statements(FUNCTIONS[name]) for a in _as_list(s["Action"])}
        assert not actions & WRITE_ACTIONS, f"{name} is read-only but may write"
