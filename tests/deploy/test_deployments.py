"""What each deployment creates: ExistingBucketName (empty / set) x IngestionMode, with the template resolved."""

from __future__ import annotations

import re
from typing import Any

import pytest

from local.template import TEMPLATE, Deployment, load_template

NEW_BUCKET = "leaf-diagnosis-images-123456789012-us-east-1"  # BucketNamePrefix-account-region
EXISTING = "seed-web-app"
PREFIX = "garden/images/"  # the seed web app's own prefix, not the default
COMBINATIONS = [(existing, mode) for existing in ("", EXISTING) for mode in ("direct", "buffered")]
PARSED = load_template()  # Deployment never changes the template it reads
UPLOAD_EVENTS = {"s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:CompleteMultipartUpload",
                 "s3:ObjectRestore:Completed"}  # a restored archive is diagnosed by itself (issue 20.4)


def deploy(existing: str, mode: str, **params: str) -> Deployment:
    return Deployment(
        {"ExistingBucketName": existing, "IngestionMode": mode, "ImagePrefix": PREFIX, **params}, PARSED
    )


def bucket_of(existing: str) -> str:
    return existing or NEW_BUCKET


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(resources: dict[str, Any], role: str = "DiagnosisFunctionRole") -> list[dict[str, Any]]:
    policies = resources[role]["Properties"]["Policies"]
    return [st for policy in policies for st in policy["PolicyDocument"]["Statement"]]


def s3_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [st for st in role_statements(resources) if any(a.startswith("s3:") for a in as_list(st["Action"]))]


def variables(resources: dict[str, Any]) -> dict[str, Any]:
    return resources["DiagnosisFunction"]["Properties"]["Environment"]["Variables"]


COMBO_IDS = [f"{'existing' if e else 'new'}-{m}" for e, m in COMBINATIONS]


# ---------------------------------------------------------------- how uploads reach the function


@pytest.mark.parametrize(("existing", "mode"), COMBINATIONS, ids=COMBO_IDS)
def test_uploads_reach_the_function_by_exactly_one_path(existing, mode):
    resources = deploy(existing, mode).resources()
    target = "<UploadQueue.Arn>" if mode == "buffered" else "<DiagnosisFunction.Arn>"
    if not existing:
        assert "UploadEventsRule" not in resources
        config = resources["ImagesBucket"]["Properties"]["NotificationConfiguration"]
        (kind,) = config
        notifications = config[kind]
        assert {n["Event"] for n in notifications} == UPLOAD_EVENTS
        assert all(n.get("Queue", n.get("Function")) == target for n in notifications)
        assert all(n["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": PREFIX}] for n in notifications)
        return
    # An existing bucket: the stack neither creates nor reconfigures a bucket.
    assert not {"ImagesBucket", "ImagesBucketPolicy", "ImagesBucketInvokePermission"} & set(resources)
    assert not [r for r in resources.values() if r["Type"].startswith("AWS::S3::")]
    rule = resources["UploadEventsRule"]["Properties"]
    assert rule["State"] == "ENABLED"
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Restore Completed"],
        "detail": {"bucket": {"name": [EXISTING]}, "object": {"key": [{"prefix": PREFIX}]}},
        "$or": [
            {"detail-type": ["Object Created"],
             "detail": {"reason": ["PutObject", "POST Object", "CompleteMultipartUpload"]}},  # never CopyObject
            {"detail-type": ["Object Restore Completed"]},
        ],
    }
    (rule_target,) = rule["Targets"]
    assert rule_target["Arn"] == target
    assert rule_target["DeadLetterConfig"] == {"Arn": "<FailedEventsQueue.Arn>"}


@pytest.mark.parametrize(("existing", "mode"), COMBINATIONS, ids=COMBO_IDS)
def test_only_the_upload_source_may_invoke_or_send(existing, mode):
    resources = deploy(existing, mode).resources()
    permissions = {
        (r["Properties"]["Principal"], r["Properties"]["SourceArn"])
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
    }
    api = ("apigateway.amazonaws.com", "arn:aws:execute-api:us-east-1:123456789012:<DiagnosisApi>/*")
    source = ("events.amazonaws.com", "<UploadEventsRule.Arn>") if existing else (
        "s3.amazonaws.com", f"arn:aws:s3:::{NEW_BUCKET}"
    )
    # The new bucket's S3 permission exists in both modes (the bucket waits for it); the rule's only in direct.
    assert permissions == ({api} if existing and mode == "buffered" else {api, source})

    if mode == "direct":
        assert "UploadQueuePolicy" not in resources
        return
    (statement,) = resources["UploadQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("sqs:SendMessage", "<UploadQueue.Arn>")
    if existing:
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": "<UploadEventsRule.Arn>"}}
    else:
        assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
        assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": f"arn:aws:s3:::{NEW_BUCKET}"}


@pytest.mark.parametrize("mode", ["direct", "buffered"])
def test_events_the_rule_could_not_deliver_land_in_the_failure_queue_and_raise_an_alarm(mode):
    resources = deploy(EXISTING, mode).resources()
    (statement,) = resources["FailedEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Resource"] == "<FailedEventsQueue.Arn>"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": "<UploadEventsRule.Arn>"}}
    alarm = resources["UploadEventsFailedAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "FailedInvocations")
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": "<UploadEventsRule>"}]
    assert alarm["AlarmActions"] == ["<AlarmTopic>"]


# ---------------------------------------------------------------- the bucket and prefix follow


@pytest.mark.parametrize(("existing", "mode"), COMBINATIONS, ids=COMBO_IDS)
@pytest.mark.parametrize("sink", ["dynamodb", "s3-metadata", "both"])
def test_the_role_reads_and_writes_only_under_the_prefix_of_that_bucket(existing, mode, sink):
    resources = deploy(existing, mode, ResultSink=sink).resources()
    statements = s3_statements(resources)
    actions = {a for st in statements for a in as_list(st["Action"])}
    reads = {"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"}
    # The write-back copy keeps tags; retention and legal hold only with ExistingBucketObjectLock (test_iam_scope).
    writes = {"s3:PutObject", "s3:PutObjectTagging"}
    # The default front door (RestApi) signs upload POSTs: PutObject on <prefix>uploads/* only (test_iam_scope_uploads).
    uploads = [st for st in statements if as_list(st["Resource"]) == [f"arn:aws:s3:::{bucket_of(existing)}/{PREFIX}uploads/*"]]
    assert [(st["Action"], "Condition" in st) for st in uploads] == [("s3:PutObject", False)]
    statements = [st for st in statements if st not in uploads]
    actions = {a for st in statements for a in as_list(st["Action"])}
    assert actions == reads | (writes if sink != "dynamodb" else set())
    for statement in statements:
        assert as_list(statement["Resource"]) == [f"arn:aws:s3:::{bucket_of(existing)}/{PREFIX}*"]
        if "s3:PutObject" in as_list(statement["Action"]):  # only as a copy from under the same prefix
            copy_sources = statement["Condition"]["StringLike"]["s3:x-amz-copy-source"]
            assert copy_sources == [f"{bucket_of(existing)}/{PREFIX}*", f"/{bucket_of(existing)}/{PREFIX}*"]


@pytest.mark.parametrize(("existing", "mode"), COMBINATIONS, ids=COMBO_IDS)
def test_environment_and_outputs_name_that_bucket_and_prefix(existing, mode):
    deployment = deploy(existing, mode)
    env = variables(deployment.resources())
    assert (env["IMAGES_BUCKET"], env["IMAGE_PREFIX"]) == (bucket_of(existing), PREFIX)
    outputs = deployment.outputs()
    assert outputs["ImagesBucketName"] == (existing or "<ImagesBucket>")
    assert outputs["ImagePrefix"] == PREFIX
    assert ("UploadEventsRuleName" in outputs) == bool(existing)


def test_no_garden_images_literal_outside_the_parameter_default_and_descriptions():
    text = TEMPLATE.read_text(encoding="utf-8")
    allowed: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str) and "garden-images/" in node:
            allowed.append(key)

    walk(load_template())
    found = [key for key in allowed if key != "Description"]
    assert found == ["Default"], found  # ImagePrefix's default, once
    assert PARSED["Parameters"]["ImagePrefix"]["Default"] == "garden-images/"
    # Comments are not parsed: every literal in the file is one of those counted above.
    assert text.count("garden-images/") == sum(
        str(node).count("garden-images/") for node in _strings(load_template())
    )


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


# CloudFormation's AllowedPattern is a Java regex; these patterns mean the same in Python's re.
@pytest.mark.parametrize("prefix", ["garden-images/", "garden/images/", "a/", "2024_photos/v1.2/", "x-y/z_/"])
def test_image_prefix_accepts_plain_folder_names(prefix):
    assert re.fullmatch(PARSED["Parameters"]["ImagePrefix"]["AllowedPattern"], prefix)


@pytest.mark.parametrize(
    "prefix",
    [
        "",  # the whole bucket, manifests and reports included
        "garden-images",  # no closing "/": would also match garden-images-old/
        "/garden/",  # keys never start with "/"
        "photos*/",  # IAM wildcard: would widen the grant
        "photo?/",
        "${aws:username}/",  # IAM policy variable, and Fn::Sub syntax
        "my garden/",  # URL-encoded in S3 notifications: the filter would never match
        "a+b/",
        "caf%C3%A9/",
        "érable/",
        "../images/",
        "./images/",
        "images//",
    ],
)
def test_image_prefix_refuses_what_would_mean_something_else_in_arns_filters_or_patterns(prefix):
    pattern = PARSED["Parameters"]["ImagePrefix"]["AllowedPattern"]
    assert not re.fullmatch(pattern, prefix)


def test_bucket_name_parameter_accepts_only_s3_bucket_names():
    pattern = PARSED["Parameters"]["ExistingBucketName"]["AllowedPattern"]
    for good in ("", "seed-web-app", "my.photos.bucket", "abc"):
        assert re.fullmatch(pattern, good), good
    for bad in ("Photos", "s3://x", "ab", "bucket/", "-bucket", "bucket-"):
        assert not re.fullmatch(pattern, bad), bad


# ---------------------------------------------------------------- ModelUri


@pytest.mark.parametrize(("existing", "mode"), COMBINATIONS, ids=COMBO_IDS)
def test_model_uri_sets_the_variable_and_grants_reads_of_exactly_that_prefix(existing, mode):
    baked = deploy(existing, mode).resources()
    assert variables(baked)["MODEL_URI"] == ""
    assert not [st for st in s3_statements(baked) if "models" in str(st["Resource"])]

    resources = deploy(existing, mode, ModelUri="s3://my-models/plantnet/v1/").resources()
    assert variables(resources)["MODEL_URI"] == "s3://my-models/plantnet/v1/"
    model_reads = [st for st in s3_statements(resources) if "my-models" in str(st["Resource"])]
    assert model_reads == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-models/plantnet/v1/*"}
    ]
    # The litert runtime fetches named files only (handler/model_download.py): nothing is listed.
    all_actions = {a for st in role_statements(resources) for a in as_list(st["Action"])}
    assert "s3:ListBucket" not in all_actions


def test_model_uri_must_name_a_folder():
    pattern = PARSED["Parameters"]["ModelUri"]["AllowedPattern"]
    for good in ("", "s3://my-models/plantnet/v1/", "s3://my-models/v1/"):
        assert re.fullmatch(pattern, good), good
    # Without the closing "/", the grant "v1*" would also cover v10/, v1-old/, ...; without a folder,
    # "s3://my-models/" would grant GetObject on the whole bucket.
    for bad in ("s3://my-models/plantnet/v1", "my-models/v1/", "s3://my-models/v*/", "https://x/y/", "s3://my-models/",
                "s3://my-models", "s3://my-models//"):
        assert not re.fullmatch(pattern, bad), bad
