"""The s3:// form, the bucket-name rule and ClientError codes, each read in one place."""

import pytest
from botocore.exceptions import ClientError

from handler.client_errors import error_code
from handler.s3_uri import BUCKET_NAME, s3_uri, split_s3_uri


@pytest.mark.parametrize(
    ("uri", "bucket", "key"),
    [("s3://leaf-images/garden-images/a b+c.jpg", "leaf-images", "garden-images/a b+c.jpg"),
     ("S3://leaf-images/x", "leaf-images", "x"), ("s3://leaf-images/", "leaf-images", ""),
     ("s3://leaf-images", "leaf-images", "")],
)
def test_an_s3_uri_splits_into_bucket_and_written_out_key_and_back(uri, bucket, key):
    assert split_s3_uri(uri) == (bucket, key)
    assert split_s3_uri(s3_uri(bucket, key)) == (bucket, key)


@pytest.mark.parametrize("uri", ["leaf-images/x", "s3:/leaf-images/x", "s3:leaf-images", "https://leaf-images/x", ""])
def test_other_forms_are_refused(uri):
    with pytest.raises(ValueError, match="s3://bucket/key"):
        split_s3_uri(uri)


@pytest.mark.parametrize(("name", "valid"), [("leaf-images", True), ("a.b", True), ("ab", False), ("UPPER", False),
                                             ("-leaf", False), ("leaf-", False), ("a" * 63, True), ("a" * 64, False)])
def test_bucket_names_follow_s3s_rule(name, valid):
    assert bool(BUCKET_NAME.fullmatch(name)) is valid


def test_the_client_error_code_or_nothing():
    assert error_code(ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")) == "NoSuchKey"
    assert error_code(ClientError({}, "GetObject")) == ""
