"""The handler-overhead bench replays a request's DynamoDB calls under fresh keys."""

from __future__ import annotations

from typing import Any

from shared.benchmarks.handler_overhead import _parts, _renamed


def _put(referral_id: str, program_id: str) -> dict[str, Any]:
    return {
        "Item": {
            "pk": {"S": f"REFERRAL#{referral_id}"},
            "gsi1pk": {"S": f"PROGRAM#{program_id}#REFERRALS"},
            "count": {"N": "1"},
        }
    }


def test_key_parts_that_changed_between_two_requests_get_the_fresh_suffix() -> None:
    # Given two recorded requests for the same program and different referrals
    first = [("dynamodb", "PutItem", _put("ref_a", "prg_1"))]
    second = [("dynamodb", "PutItem", _put("ref_b", "prg_1"))]
    unique = _parts(first) - _parts(second)

    # When the first is renamed for a replay
    replayed = _renamed(first[0][2], unique, "-r7")

    # Then only the referral's key part is fresh; the program's and the numbers stay
    assert replayed["Item"]["pk"] == {"S": "REFERRAL#ref_a-r7"}
    assert replayed["Item"]["gsi1pk"] == {"S": "PROGRAM#prg_1#REFERRALS"}
    assert replayed["Item"]["count"] == {"N": "1"}
