"""The handler runs with the function role's permissions from template.yaml, and moto enforces them.

moto enforces actions and resources, not conditions (local/iam.py says how far it goes): where the
template's grant rests on a condition, the request the handler really sent is checked against the
template's statements with local.iam.allows, and tests/deploy/test_iam_scope.py covers the rest.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.exceptions import ClientError

from local.aws import create_policy_user
from local.iam import allows, function_role_policy
from local.template import ParameterError
from tests.e2e.conftest import BUCKET, TABLE, handler_client, handler_policy

DENIED = ("AccessDenied", "AccessDeniedException", "403")


def error_code(call, **kwargs) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def objects(local_stack):
    s3 = boto3.client("s3")  # the admin's keys
    for key in ("other/x.jpg", "garden-images/iam/inside.jpg"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"not a photo")
    return s3


def test_the_handler_may_read_inside_the_prefix(app, objects):
    assert app.container.s3.get_object(Bucket=BUCKET, Key="garden-images/iam/inside.jpg")["Body"].read() == b"not a photo"


def test_the_handler_is_refused_what_the_template_does_not_grant(app, objects):
    s3 = app.container.s3
    assert error_code(s3.get_object, Bucket=BUCKET, Key="other/x.jpg") == "AccessDenied"
    assert error_code(s3.put_object, Bucket=BUCKET, Key="other/y.jpg", Body=b"x") == "AccessDenied"
    assert error_code(s3.delete_object, Bucket=BUCKET, Key="garden-images/iam/inside.jpg") == "AccessDenied"
    assert error_code(s3.list_objects_v2, Bucket=BUCKET, Prefix="garden-images/") == "AccessDenied"
    # moto's JSON services put the HTTP status where the code goes; the message is AccessDenied's.
    assert error_code(app.container.dynamodb.delete_item, TableName=TABLE, Key={"image": {"S": "x"}}) in DENIED
    assert error_code(app.container.dynamodb.scan, TableName=TABLE) in DENIED
    assert objects.get_object(Bucket=BUCKET, Key="other/x.jpg")["Body"].read() == b"not a photo"  # the admin may


def test_the_policy_is_the_templates_own_for_s3(app):
    s3_resources = {statement["Resource"] for statement in handler_policy()["Statement"]
                    if str(statement["Action"]).startswith("['s3:") or str(statement["Action"]).startswith("s3:")}
    assert f"arn:aws:s3:::{BUCKET}/garden-images/*" in s3_resources
    # <prefix>uploads/*: the presigned upload POSTs the role signs (tests/deploy/test_iam_scope_uploads.py).
    assert all(resource.endswith(("/garden-images/*", "/garden-images/uploads/*")) for resource in s3_resources)


def test_a_missing_key_inside_the_prefix_answers_as_moto_does(app, objects):
    """Real S3 answers 403 without s3:ListBucket; record what moto answers, so the difference is known."""
    code = error_code(app.container.s3.get_object, Bucket=BUCKET, Key="garden-images/iam/missing.jpg")
    print(f"\nmissing key, no s3:ListBucket: moto answers {code}")
    assert code in ("NoSuchKey", "AccessDenied")


def header(headers: Any, name: str) -> str | None:
    value = headers.get(name)
    return value.decode() if isinstance(value, bytes) else value


def test_the_write_back_is_the_only_put_the_role_allows(app, s3, deliver, leaf_jpeg):
    key = "garden-images/iam/write-back.jpg"
    sent: list[Any] = []

    def capture(request: Any, **_: Any) -> None:
        sent.append(request.headers.copy())

    app.container.s3.meta.events.register("before-send.s3.CopyObject", capture)
    try:
        s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(0), ContentType="image/jpeg")
        deliver()
    finally:
        app.container.s3.meta.events.unregister("before-send.s3.CopyObject", capture)
    # The handler's copy onto itself went through under the role: the metadata is there.
    assert "diagnosis-model" in s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]
    (copy,) = sent
    # ...and the request it sent meets the template's condition on s3:PutObject.
    context = {
        "s3:x-amz-copy-source": unquote(header(copy, "x-amz-copy-source") or ""),
        "s3:x-amz-metadata-directive": header(copy, "x-amz-metadata-directive") or "",
    }
    assert context == {"s3:x-amz-copy-source": f"{BUCKET}/{key}", "s3:x-amz-metadata-directive": "REPLACE"}
    target = f"arn:aws:s3:::{BUCKET}/{key}"
    assert allows(handler_policy(), "s3:PutObject", target, context)
    # A PutObject of new bytes carries no copy source: the template's policy refuses it.
    assert not allows(handler_policy(), "s3:PutObject", target)
    # moto lets it through (conditions ignored): recorded, so the gap stays in sight.
    try:
        app.container.s3.put_object(Bucket=BUCKET, Key="garden-images/iam/new-bytes.jpg", Body=b"new")
        answer = "allowed"
    except ClientError as exc:
        answer = str(exc.response["Error"]["Code"])
    print(f"\nplain PutObject by the role: template policy refuses it, moto answers {answer}")


def test_object_lock_writes_are_not_in_the_role_without_the_parameter(app):
    target = f"arn:aws:s3:::{BUCKET}/garden-images/iam/inside.jpg"
    # moto files PUT ?retention and ?legal-hold under s3:PutObject, so this is read from the policy moto holds.
    for action in ("s3:PutObjectRetention", "s3:PutObjectLegalHold"):
        assert not allows(handler_policy(), action, target)
    locked = function_role_policy(BUCKET, TABLE, {"ExistingBucketObjectLock": "enabled"})
    assert all(allows(locked, action, target) for action in ("s3:PutObjectRetention", "s3:PutObjectLegalHold"))


def test_a_model_uri_reads_only_under_its_prefix_and_never_a_whole_bucket(app, objects):
    with pytest.raises(ParameterError, match="ModelUri"):
        function_role_policy(BUCKET, TABLE, {"ModelUri": f"s3://{BUCKET}/"})
    for key in ("models/v1/metadata.json", "models/v10/metadata.json"):
        objects.put_object(Bucket=BUCKET, Key=key, Body=b"{}")
    policy = function_role_policy(BUCKET, TABLE, {"ModelUri": f"s3://{BUCKET}/models/v1/"})
    s3_only = [st for st in policy["Statement"] if str(st["Action"]).startswith(("s3:", "['s3:"))]  # others name placeholders
    reader = handler_client("s3", create_policy_user("leaf-diagnosis-model-reader", {**policy, "Statement": s3_only}))
    assert reader.get_object(Bucket=BUCKET, Key="models/v1/metadata.json")["Body"].read() == b"{}"
    assert error_code(reader.get_object, Bucket=BUCKET, Key="models/v10/metadata.json") == "AccessDenied"
    assert error_code(reader.get_object, Bucket=BUCKET, Key="other/x.jpg") == "AccessDenied"
