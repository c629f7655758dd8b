"""One process runs every function locally, so their environments are merged."""

from __future__ import annotations

import pytest

from shared.local.moto_stack import DeployedFunction, DeployedStack
from shared.local.stack import LocalStackError, merged_environment


def stack_with(**environments: dict[str, str]) -> DeployedStack:
    stack = DeployedStack(name="rewards", region="us-east-1", account_id="123456789012")
    for logical_id, environment in environments.items():
        stack.functions[logical_id] = DeployedFunction(
            logical_id, f"rewards-{logical_id}", f"arn:{logical_id}", environment, 20, 512
        )
    return stack


def test_functions_environments_are_merged_and_overrides_win() -> None:
    stack = stack_with(
        AFunction={"TABLE_NAME": "t", "MODEL_DIR": "/opt/models"},
        BFunction={"TABLE_NAME": "t", "QUEUE_URL": "q", "MODEL_DIR": "/elsewhere"},
    )

    merged = merged_environment(stack, {"MODEL_DIR": "/repo/models"})

    assert merged == {"TABLE_NAME": "t", "QUEUE_URL": "q", "MODEL_DIR": "/repo/models"}


def test_functions_disagreeing_on_a_variable_are_refused_naming_both() -> None:
    stack = stack_with(AFunction={"LOG_LEVEL": "INFO"}, BFunction={"LOG_LEVEL": "DEBUG"})

    with pytest.raises(LocalStackError, match=r"AFunction and BFunction set LOG_LEVEL differently"):
        merged_environment(stack, {})
