"""The handler runs with the function role's permissions from template.yaml, and moto enforces them."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import BUCKET, TABLE, handler_policy

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
    assert all(resource.endswith("/garden-images/*") for resource in s3_resources)


def test_a_missing_key_inside_the_prefix_answers_as_moto_does(app, objects):
    """Real S3 answers 403 without s3:ListBucket; record what moto answers, so the difference is known."""
    code = error_code(app.container.s3.get_object, Bucket=BUCKET, Key="garden-images/iam/missing.jpg")
    print(f"\nmissing key, no s3:ListBucket: moto answers {code}")
    assert code in ("NoSuchKey", "AccessDenied")
