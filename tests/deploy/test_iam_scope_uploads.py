"""The role may sign presigned upload POSTs: a plain PutObject on <prefix>uploads/* only, only with a front door.

S3 accepts a presigned POST only if its signer may PutObject the key. moto ignores IAM conditions
and IAM-enforcing moto cannot take form POSTs (its POST-object path carries no IAM check), so the
grant is checked here with local.iam.allows on the resolved template.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.iam import allows
from local.template import Deployment, load_template

PARSED = load_template()
EXISTING = "seed-web-app"
NEW_BUCKET = "leaf-diagnosis-images-123456789012-us-east-1"
PREFIX = "garden-images/"
DOORS = [("RestApi", "AWS_IAM"), ("HttpApi", "AWS_IAM"), ("FunctionUrl", "NONE")]


def role_policy(**params: str) -> dict[str, Any]:
    resources = Deployment(params, PARSED).resources()
    policies = resources["DiagnosisFunctionRole"]["Properties"]["Policies"]
    return {"Statement": [st for policy in policies for st in policy["PolicyDocument"]["Statement"]]}


@pytest.mark.parametrize(("door", "auth"), DOORS)
@pytest.mark.parametrize("sink", ["dynamodb", "s3-metadata", "both"])
@pytest.mark.parametrize("existing", ["", EXISTING])
def test_a_door_lets_the_role_put_new_bytes_under_uploads_only(door, auth, sink, existing):
    params = {"FrontDoor": door, "ApiAuth": auth, "ResultSink": sink}
    if existing:
        params["ExistingBucketName"] = existing
    policy = role_policy(**params)
    bucket = existing or NEW_BUCKET
    # What the presigned POST of handler/api/presign.py writes: <prefix>uploads/<id>-<name>.
    assert allows(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/{PREFIX}uploads/01JE00-leaf.jpg")
    # Nowhere else: the rest of the prefix, other prefixes, other buckets.
    assert not allows(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/{PREFIX}beds/leaf.jpg")
    assert not allows(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/{PREFIX}uploadsX/leaf.jpg")
    assert not allows(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/other/uploads/leaf.jpg")
    assert not allows(policy, "s3:PutObject", f"arn:aws:s3:::someone-else/{PREFIX}uploads/leaf.jpg")


@pytest.mark.parametrize("sink", ["s3-metadata", "both"])
def test_the_copy_only_narrowing_stays_for_the_rest_of_the_prefix(sink):
    policy = role_policy(FrontDoor="RestApi", ResultSink=sink)
    key = f"{PREFIX}beds/leaf.jpg"
    target = f"arn:aws:s3:::{NEW_BUCKET}/{key}"
    assert not allows(policy, "s3:PutObject", target)
    assert allows(policy, "s3:PutObject", target,
                  {"s3:x-amz-copy-source": f"{NEW_BUCKET}/{key}", "s3:x-amz-metadata-directive": "REPLACE"})


@pytest.mark.parametrize("sink", ["dynamodb", "both"])
def test_without_a_door_nothing_is_signed_so_no_new_bytes_may_be_put(sink):
    policy = role_policy(FrontDoor="None", ResultSink=sink)
    assert not allows(policy, "s3:PutObject", f"arn:aws:s3:::{NEW_BUCKET}/{PREFIX}uploads/01JE00-leaf.jpg")


def test_the_listing_is_a_query_on_the_index_never_on_the_table_or_a_scan():
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/results"
    resources = Deployment({"ResultSink": "both"}, PARSED, resource_values={"DiagnosisTable.Arn": table}).resources()
    policies = resources["DiagnosisFunctionRole"]["Properties"]["Policies"]
    policy = {"Statement": [st for p in policies for st in p["PolicyDocument"]["Statement"]]}
    assert allows(policy, "dynamodb:Query", f"{table}/index/by-time")
    assert not allows(policy, "dynamodb:Query", table)
    assert not allows(policy, "dynamodb:Scan", table)
    assert not allows(policy, "dynamodb:Scan", f"{table}/index/by-time")
