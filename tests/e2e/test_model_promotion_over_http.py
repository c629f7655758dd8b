"""`rewards model promote` and `rollback` change the version the running stack scores with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.cli import main
from shared.local.stack import LocalStack
from tests.e2e.conftest import MakeClient
from tests.model_support import BUNDLED_MODELS, bundled_version, copy_of_bundled
from tests.support import advocate_body, program_body, purchase_body, referral_body, unique


def _scored_version(client_for: MakeClient, stack: LocalStack) -> str:
    """Record a referral and its purchase, let the scoring queue run, read its model version."""
    admin, client = client_for("admin"), client_for("client")
    program_id = admin.post("/v1/programs", program_body()).json()["program_id"]
    enrolled = client.post(f"/v1/programs/{program_id}/advocates", advocate_body())
    code = enrolled.json()["referral_code"]
    created = client.post("/v1/referrals", referral_body(program_id, code))
    assert created.status_code == 201, created.text
    referral_id = created.json()["referral_id"]
    bought = client.post(f"/v1/referrals/{referral_id}/events", purchase_body())
    assert bought.status_code == 202, bought.text
    stack.drain()
    risk = client_for("finance").get(f"/v1/referrals/{referral_id}").json()["risk"]
    return str(risk["model_version"])


@pytest.fixture
def candidate(tmp_path: Path, stack: LocalStack) -> Iterator[Path]:
    """A second version made outside the checkout; the bundled one serves again after."""
    directory = copy_of_bundled(tmp_path, unique("ifgb-e2e"))
    yield directory
    while main(["model", "list"]) == 0 and _active_is_not_bundled(stack):
        if main(["model", "rollback"]) != 0:
            break


def _active_is_not_bundled(stack: LocalStack) -> bool:
    from shared.local.model_control import LocalModelControl

    control = LocalModelControl(BUNDLED_MODELS, stack.models_dir)
    return control({"action": "list"}, "e2e")["active"] != bundled_version()


def _global_audit(client_for: MakeClient) -> list[dict[str, Any]]:
    finance, items, cursor = client_for("finance"), [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = finance.get("/v1/audit", params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_a_promoted_version_scores_the_next_referral_and_rollback_restores_the_old(
    client_for: MakeClient, stack: LocalStack, candidate: Path
) -> None:
    # Given the stack scoring with the bundled version
    assert _scored_version(client_for, stack) == bundled_version()

    # When a version directory is promoted by path
    assert main(["model", "promote", str(candidate)]) == 0

    # Then the next referral is scored by it, and it was copied into the stack's state,
    # not into the checkout's tracked models/
    assert _scored_version(client_for, stack) == candidate.name
    assert (stack.models_dir / candidate.name / "manifest.json").is_file()
    assert not (BUNDLED_MODELS / candidate.name).exists()

    # When it is rolled back, Then the bundled version scores again
    assert main(["model", "rollback"]) == 0
    assert _scored_version(client_for, stack) == bundled_version()


def test_promoting_an_unknown_version_fails_and_changes_nothing(
    client_for: MakeClient, stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["model", "promote", "ifgb-never-trained"])

    assert code == 1
    assert "ifgb-never-trained" in capsys.readouterr().err
    assert _scored_version(client_for, stack) == bundled_version()


def test_the_promotions_are_in_the_audit_trail(
    client_for: MakeClient, stack: LocalStack, candidate: Path
) -> None:
    assert main(["model", "promote", str(candidate)]) == 0
    assert main(["model", "rollback"]) == 0

    mine = [i for i in _global_audit(client_for) if candidate.name in i["details"].values()]
    assert [i["action"] for i in mine] == ["model.promoted", "model.rolled_back"]


def test_only_an_admin_may_choose_the_model(client_for: MakeClient) -> None:
    refused = client_for("finance").post("/_local/model", {"action": "rollback"})

    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"


def test_an_unknown_action_is_refused_naming_the_field(client_for: MakeClient) -> None:
    refused = client_for("admin").post("/_local/model", {"action": "delete"})

    assert refused.status_code == 422
    assert "action" in refused.json()["detail"]
