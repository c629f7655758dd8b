"""The model bucket as template.yaml declares it, and who may read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load_template(ROOT / "template.yaml")["Resources"]
SCORERS = ("ScoringFunction", "RescoreFunction")


def _props(name: str) -> dict[str, Any]:
    return RESOURCES[name]["Properties"]


def test_the_bucket_is_encrypted_versioned_and_never_public() -> None:
    bucket = _props("ModelBucket")
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}


def test_the_bucket_refuses_requests_without_tls() -> None:
    policy = _props("ModelBucketPolicy")
    [statement] = policy["PolicyDocument"]["Statement"]
    assert policy["Bucket"] == {"Ref": "ModelBucket"}
    assert (statement["Effect"], statement["Action"]) == ("Deny", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_the_scoring_functions_read_the_bucket_and_none_may_write_it() -> None:
    policy = _props("ModelReadPolicy")
    actions = {a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert policy["Roles"] == [{"Ref": f"{name}Role"} for name in SCORERS]
    assert actions == {"s3:GetObject", "s3:ListBucket"}


def test_the_scoring_functions_are_told_the_bucket() -> None:
    for name in SCORERS:
        variables = _props(name)["Environment"]["Variables"]
        assert variables["MODEL_BUCKET"] == {"Ref": "ModelBucket"}, name
