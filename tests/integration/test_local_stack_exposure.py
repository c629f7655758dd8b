"""The local stack keeps to this machine's owner: private files, no cross-origin moto."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from shared.local.discovery import discovery_path
from shared.local.stack import LocalStack
from tests.integration.test_local_stack import copy_fixture


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_fixture(tmp_path_factory.mktemp("exposure") / "checkout")


@pytest.fixture(scope="module")
def stack(root: Path) -> Iterator[LocalStack]:
    with LocalStack(root, port=0, engine="moto") as running:
        yield running


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_stack_address_file_is_readable_by_its_owner_only(
    stack: LocalStack, root: Path
) -> None:
    assert _mode(discovery_path(root)) == 0o600


def test_moto_answers_no_cross_origin_request(stack: LocalStack) -> None:
    # Given a page on another origin asking the local moto for its queues
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    # When its browser sends the preflight and the request
    preflight = requests.options(stack.moto_endpoint, headers=headers, timeout=10)
    answer = requests.get(f"{stack.moto_endpoint}/?Action=ListQueues", headers=headers, timeout=10)
    # Then moto grants no origin
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_saved_state_is_readable_by_its_owner_only(root: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with LocalStack(root, port=0, state_dir=state, engine="moto"):
        pass
    saved = [p for p in state.rglob("*") if p.is_file()]
    assert saved
    assert {(p.name, _mode(p)) for p in saved} == {(p.name, 0o600) for p in saved}
