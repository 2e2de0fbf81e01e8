"""The function role grants what the code does and no more, resolved from template.yaml per deployment.

moto's IAM enforcement (tests/e2e/test_iam.py) ignores conditions and files PUT ?retention and
?legal-hold under s3:PutObject, so what rests on conditions or on those two actions is checked here,
with local.iam.allows evaluating the resolved statements against a request's condition values.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.iam import allows
from local.template import Deployment, ParameterError, load_template

PARSED = load_template()
EXISTING = "seed-web-app"
NEW_BUCKET = "leaf-diagnosis-images-123456789012-us-east-1"
PREFIX = "garden-images/"
BUCKETS = {"existing": EXISTING, "new": NEW_BUCKET}


def role_policy(**params: str) -> dict[str, Any]:
    resources = Deployment(params, PARSED).resources()
    policies = resources["DiagnosisFunctionRole"]["Properties"]["Policies"]
    return {"Statement": [st for policy in policies for st in policy["PolicyDocument"]["Statement"]]}


def bucket_params(which: str) -> dict[str, str]:
    return {"ExistingBucketName": EXISTING} if which == "existing" else {}


def copy_request(source: str, directive: str | None = "REPLACE") -> dict[str, str]:
    """The condition values S3 sees on a CopyObject (PutObject with an x-amz-copy-source header)."""
    context = {"s3:x-amz-copy-source": source}
    if directive is not None:
        context["s3:x-amz-metadata-directive"] = directive
    return context


# ---------------------------------------------------------------- PutObject: only the write-back copy


@pytest.mark.parametrize("which", ["existing", "new"])
@pytest.mark.parametrize("sink", ["s3-metadata", "both"])
def test_a_plain_put_of_new_bytes_is_refused_and_the_copy_onto_itself_is_allowed(which, sink):
    bucket = BUCKETS[which]
    policy = role_policy(ResultSink=sink, **bucket_params(which))
    key = f"{PREFIX}beds/leaf 1.jpg"
    target = f"arn:aws:s3:::{bucket}/{key}"
    assert not allows(policy, "s3:PutObject", target)  # no x-amz-copy-source: new bytes
    # What handler/object_metadata.py sends: the same key as source, MetadataDirective REPLACE.
    assert allows(policy, "s3:PutObject", target, copy_request(f"{bucket}/{key}"))
    assert allows(policy, "s3:PutObject", target, copy_request(f"/{bucket}/{key}"))
    # Anything else the copy could name is refused.
    assert not allows(policy, "s3:PutObject", target, copy_request(f"{bucket}/{key}", "COPY"))
    assert not allows(policy, "s3:PutObject", target, copy_request(f"{bucket}/{key}", None))
    assert not allows(policy, "s3:PutObject", target, copy_request(f"{bucket}/other/x.jpg"))
    assert not allows(policy, "s3:PutObject", target, copy_request(f"someone-else/{key}"))
    assert not allows(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/other/x.jpg", copy_request(f"{bucket}/{key}"))
    # The limit IAM leaves: it cannot say "the source is the destination", so a copy of another photo
    # under the prefix onto this key is allowed. Only bytes already under the prefix can be written.
    assert allows(policy, "s3:PutObject", target, copy_request(f"{bucket}/{PREFIX}another.jpg"))


def test_the_dynamodb_sink_grants_no_write_to_the_bucket_at_all():
    policy = role_policy(ResultSink="dynamodb", ExistingBucketName=EXISTING)
    target = f"arn:aws:s3:::{EXISTING}/{PREFIX}leaf.jpg"
    assert not allows(policy, "s3:PutObject", target, copy_request(f"{EXISTING}/{PREFIX}leaf.jpg"))
    assert not allows(policy, "s3:PutObjectTagging", target)


# ---------------------------------------------------------------- Object Lock: only when the bucket uses it


@pytest.mark.parametrize("mode", ["direct", "buffered"])
def test_retention_and_legal_hold_are_granted_only_when_the_existing_bucket_uses_object_lock(mode):
    target = f"arn:aws:s3:::{EXISTING}/{PREFIX}leaf.jpg"
    lock_actions = ("s3:PutObjectRetention", "s3:PutObjectLegalHold")
    plain = role_policy(ExistingBucketName=EXISTING, IngestionMode=mode)
    assert not any(allows(plain, action, target) for action in lock_actions)
    locked = role_policy(ExistingBucketName=EXISTING, IngestionMode=mode, ExistingBucketObjectLock="enabled")
    assert all(allows(locked, action, target) for action in lock_actions)
    assert not any(allows(locked, action, f"arn:aws:s3:::{EXISTING}/other/x.jpg") for action in lock_actions)
    # No metadata write-back, no copy to keep the lock of.
    table_only = role_policy(ExistingBucketName=EXISTING, ExistingBucketObjectLock="enabled", ResultSink="dynamodb")
    assert not any(allows(table_only, action, target) for action in lock_actions)


def test_object_lock_cannot_be_claimed_for_the_new_bucket():
    with pytest.raises(ParameterError, match="ObjectLockNeedsAnExistingBucket"):
        Deployment({"ExistingBucketObjectLock": "enabled"}, PARSED)


# ---------------------------------------------------------------- ModelUri: a prefix, never a whole bucket


@pytest.mark.parametrize("uri", ["s3://my-models/", "s3://my-models", "s3://my-models//"])
def test_a_model_uri_naming_a_whole_bucket_is_refused(uri):
    with pytest.raises(ParameterError, match="ModelUri"):
        Deployment({"ModelUri": uri}, PARSED)


def test_a_model_uri_grants_reads_under_its_prefix_only():
    policy = role_policy(ModelUri="s3://my-models/plantnet/v1/")
    assert allows(policy, "s3:GetObject", "arn:aws:s3:::my-models/plantnet/v1/model.tflite")
    assert not allows(policy, "s3:GetObject", "arn:aws:s3:::my-models/secrets.txt")
    assert not allows(policy, "s3:GetObject", "arn:aws:s3:::my-models/plantnet/v10/model.tflite")


# ---------------------------------------------------------------- completion events: one bus, one kind of event


def test_no_event_bus_means_no_events_permission_and_an_empty_variable():
    resources = Deployment({}, PARSED).resources()
    assert resources["DiagnosisFunction"]["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"] == ""
    actions = [a for st in role_policy()["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])]
    assert not [a for a in actions if a.startswith("events:")]


@pytest.mark.parametrize("which", ["existing", "new"])
def test_completion_events_may_go_only_to_the_named_bus_with_our_source_and_detail_type(which):
    params = {"EventBusName": "garden-events", **bucket_params(which)}
    resources = Deployment(params, PARSED).resources()
    assert resources["DiagnosisFunction"]["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"] == "garden-events"
    policy = role_policy(**params)
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/garden-events"
    ours = {"events:source": "leaf-diagnosis", "events:detail-type": "Diagnosis Stored"}
    assert allows(policy, "events:PutEvents", bus, ours)
    assert not allows(policy, "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default", ours)
    assert not allows(policy, "events:PutEvents", bus, {**ours, "events:source": "aws.s3"})
    assert not allows(policy, "events:PutEvents", bus, {**ours, "events:detail-type": "Object Created"})
    assert not allows(policy, "events:PutEvents", bus, {"events:source": "leaf-diagnosis"})


@pytest.mark.parametrize("name", ["arn:aws:events:us-east-1:123456789012:event-bus/x", "bus with spaces", "*"])
def test_the_event_bus_is_named_not_an_arn_or_a_wildcard(name):
    with pytest.raises(ParameterError, match="EventBusName"):
        Deployment({"EventBusName": name}, PARSED)


# ---------------------------------------------------------------- the evaluator itself


def test_the_evaluator_refuses_a_missing_key_and_an_unknown_operator():
    statement = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/p/*"}
    assert allows({"Statement": [statement]}, "S3:putobject", "arn:aws:s3:::b/p/x")
    conditional = {**statement, "Condition": {"StringEquals": {"s3:x-amz-metadata-directive": "REPLACE"}}}
    assert not allows({"Statement": [conditional]}, "s3:PutObject", "arn:aws:s3:::b/p/x")
    assert allows({"Statement": [conditional]}, "s3:PutObject", "arn:aws:s3:::b/p/x", {"S3:X-Amz-Metadata-Directive": "REPLACE"})
    deny = {**statement, "Effect": "Deny"}
    assert not allows({"Statement": [statement, deny]}, "s3:PutObject", "arn:aws:s3:::b/p/x")
    unknown = {**statement, "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}}
    with pytest.raises(KeyError):
        allows({"Statement": [unknown]}, "s3:PutObject", "arn:aws:s3:::b/p/x", {"s3:max-keys": "5"})


# ---------------------------------------------------------------- ACL grants: only for an existing bucket that uses ACLs


@pytest.mark.parametrize("sink", ["s3-metadata", "both"])
def test_acl_grants_only_with_the_existing_bucket_acl_parameter(sink):
    target = f"arn:aws:s3:::{EXISTING}/{PREFIX}leaf.jpg"
    for action in ("s3:GetObjectAcl", "s3:PutObjectAcl"):
        assert not allows(role_policy(ResultSink=sink, ExistingBucketName=EXISTING), action, target)
        with_acls = role_policy(ResultSink=sink, ExistingBucketName=EXISTING, ExistingBucketAcls="enabled")
        assert allows(with_acls, action, target)
        assert not allows(with_acls, action, f"arn:aws:s3:::{EXISTING}/other/leaf.jpg")
    assert not any("Acl" in str(st["Action"]) for st in role_policy(
        ResultSink="dynamodb", ExistingBucketName=EXISTING, ExistingBucketAcls="enabled")["Statement"])
    with pytest.raises(ParameterError, match="ExistingBucketAcls"):
        role_policy(ResultSink=sink, ExistingBucketAcls="enabled")  # the new bucket enforces bucket-owner ownership


def test_the_result_mac_key_is_granted_for_the_metadata_sink_only():
    key = "arn:aws:kms:us-east-1:123456789012:key/mac"
    signing = Deployment({"ResultSink": "s3-metadata"}, PARSED, resource_values={"ResultMacKey.Arn": key}).resources()
    policy = {"Statement": [st for p in signing["DiagnosisFunctionRole"]["Properties"]["Policies"]
                            for st in p["PolicyDocument"]["Statement"]]}
    for action in ("kms:GenerateMac", "kms:VerifyMac"):
        assert allows(policy, action, key)
        assert not allows(policy, action, "arn:aws:kms:us-east-1:123456789012:key/another")
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateKey"):
        assert not allows(policy, action, key)
    for sink in ("dynamodb", "both"):
        assert not allows(role_policy(ResultSink=sink), "kms:GenerateMac", key)
