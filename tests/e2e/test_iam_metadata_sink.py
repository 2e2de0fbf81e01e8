"""The s3-metadata sink under the role template.yaml gives it: results signed with the KMS key, ACLs kept.

moto checks KMS actions only against the resource "*" (KMS responses name no resource to moto's
IAM check), as it does for DynamoDB: the sign-results statement is widened to "*" for moto, its
actions unchanged, and its resource, exactly the ResultMacKey ARN, is checked with local.iam.allows
(tests/deploy/test_iam_scope.py). moto checks s3:GetObjectAcl with its resource; a copy carrying
x-amz-grant-* headers it checks as s3:PutObject only, so the s3:PutObjectAcl S3 also asks for is read
from the template here.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus

import boto3
import pytest

from local.aws import create_mac_key, create_policy_user, drain_events
from local.context import LocalContext
from local.iam import allows, function_role_policy
from tests.e2e.conftest import BUCKET, TABLE, handler_client

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def role_user(parameters: dict[str, str]) -> dict[str, str]:
    """A user holding the role's statements for these parameters; non-S3 resources widened to "*" for moto."""
    policy = function_role_policy(BUCKET, TABLE, parameters)
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not all(action.startswith("s3:") for action in actions):
            statement["Resource"] = "*"
    return create_policy_user(f"leaf-metadata-{uuid.uuid4().hex[:8]}", policy)


def metadata_handler(keys: dict[str, str], mac_key: str, keep_acl: bool = False) -> Any:
    from handler.config import Settings
    from handler.container import build_container
    from handler.invocation import make_handler

    settings = Settings(result_sink="s3-metadata", images_bucket=BUCKET, result_mac_key=mac_key,
                        keep_object_acl=keep_acl)
    return make_handler(build_container(settings, s3=handler_client("s3", keys), kms=handler_client("kms", keys)))


def diagnose_queued(handler: Any, local_stack: Any, key: str) -> list[dict[str, Any]]:
    """Deliver the queued events for `key` (others are dropped) to this handler; its results."""
    results = []
    for event in drain_events(local_stack.queue_url or "", wait_seconds=1):
        records = [r for r in event.get("Records", []) if unquote_plus(r["s3"]["object"]["key"]) == key
                   and r["eventName"] != "ObjectCreated:Copy"]  # our own write-back's
        if records:
            results.extend(handler.lambda_handler({**event, "Records": records}, LocalContext())["results"])
    return results


def get_result(handler: Any, key: str) -> tuple[int, Any]:
    event = json.loads((EVENTS_DIR / "api-get-diagnosis.json").read_text())
    event["path"] = "/diagnoses/" + quote(key)
    event["requestContext"]["path"] = "/v1" + event["path"]
    response = handler.lambda_handler(event, LocalContext())
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], json.loads(body)


@pytest.fixture(scope="module")
def mac_key(local_stack):
    return create_mac_key("e2e result MAC")


def test_results_are_signed_and_verified_under_the_role(local_stack, mac_key, s3, leaf_jpeg):
    handler = metadata_handler(role_user({"ResultSink": "s3-metadata"}), mac_key)
    list(drain_events(local_stack.queue_url or "", wait_seconds=0))  # what earlier tests left
    key = "garden-images/iam-mac/signed.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(1), ContentType="image/jpeg")
    assert [r["status"] for r in diagnose_queued(handler, local_stack, key)] == ["ok"]
    meta = s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]
    assert meta.get("diagnosis-mac") and meta.get("diagnosis-etag")
    status, body = get_result(handler, key)  # VerifyMac under the role
    assert status == 200 and body["label"] == meta["diagnosis-label"], body
    # Our own metadata, copied onto other bytes by an uploader, is no result there.
    forged = "garden-images/iam-mac/replayed.jpg"
    s3.put_object(Bucket=BUCKET, Key=forged, Body=leaf_jpeg(2), Metadata=meta)
    assert get_result(handler, forged)[0] == 404


def test_without_the_sign_results_grant_kms_refuses_and_nothing_is_trusted(local_stack, mac_key, s3, leaf_jpeg):
    """The both-sink role has no KMS statement: moto refuses GenerateMac, so the grant above is what allows it."""
    keys = role_user({"ResultSink": "both"})
    kms = handler_client("kms", keys)
    with pytest.raises(Exception) as refused:
        kms.generate_mac(KeyId=mac_key, Message=b"x", MacAlgorithm="HMAC_SHA_256")
    assert "AccessDenied" in str(refused.value)
    admin_kms = boto3.client("kms")
    assert admin_kms.generate_mac(KeyId=mac_key, Message=b"x", MacAlgorithm="HMAC_SHA_256")["Mac"]


def test_the_template_grants_the_mac_actions_on_the_key_alone():
    policy = function_role_policy(BUCKET, TABLE, {"ResultSink": "s3-metadata"})
    (statement,) = [st for st in policy["Statement"] if "kms:GenerateMac" in st["Action"]]
    assert statement["Resource"] == "<ResultMacKey.Arn>"  # the key the stack creates, nothing else
    assert not allows(policy, "kms:GenerateMac", "arn:aws:kms:us-east-1:123456789012:key/other")


def test_the_write_back_keeps_a_public_read_acl_under_the_role(local_stack, mac_key, s3, leaf_jpeg):
    params = {"ResultSink": "s3-metadata", "ExistingBucketAcls": "enabled"}
    handler = metadata_handler(role_user(params), mac_key, keep_acl=True)
    sent: list[Any] = []
    handler.container.s3.meta.events.register("before-send.s3.CopyObject", lambda request, **_: sent.append(request))
    list(drain_events(local_stack.queue_url or "", wait_seconds=0))  # what earlier tests left
    key = "garden-images/iam-acl/public.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(0), ContentType="image/jpeg", ACL="public-read")
    assert [r["status"] for r in diagnose_queued(handler, local_stack, key)] == ["ok"]
    assert "diagnosis-mac" in s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]
    grants = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert [g["Permission"] for g in grants if g["Grantee"].get("URI") == ALL_USERS] == ["READ"]
    (copy,) = sent
    assert ALL_USERS in str(copy.headers.get("x-amz-grant-read"))
    # A copy with x-amz-grant-* is also s3:PutObjectAcl in S3 (moto checks s3:PutObject only): the template grants it.
    target = f"arn:aws:s3:::{BUCKET}/{key}"
    assert allows(function_role_policy(BUCKET, TABLE, params), "s3:PutObjectAcl", target)


def test_without_the_acl_parameter_the_role_may_not_read_the_acl_and_writes_nothing(local_stack, mac_key, s3, leaf_jpeg):
    """moto enforces s3:GetObjectAcl: a handler told to keep ACLs without the grant leaves the object alone."""
    handler = metadata_handler(role_user({"ResultSink": "s3-metadata"}), mac_key, keep_acl=True)
    list(drain_events(local_stack.queue_url or "", wait_seconds=0))  # what earlier tests left
    key = "garden-images/iam-acl/no-grant.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(0), ContentType="image/jpeg", ACL="public-read")
    (result,) = diagnose_queued(handler, local_stack, key)
    assert result["status"] == "skipped" and "access denied" in result["reason"], result
    assert "diagnosis-mac" not in s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]
    assert get_result(handler, key)[0] == 404
