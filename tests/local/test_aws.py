"""local.aws: pointing boto3 at the local endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from local.aws import LOCAL_CREDENTIALS, fresh_default_session, use_local_credentials


@pytest.fixture
def restored_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (*LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, "before")  # so that monkeypatch puts each back afterwards
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8")
    fresh_default_session()  # none of the earlier tests' keys
    yield
    monkeypatch.undo()
    fresh_default_session()


def signing_key(client) -> str:
    """The access key a client signs with, read from a presigned URL (no request is sent)."""
    url = client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    return parse_qs(urlparse(url).query)["AWSAccessKeyId"][0]  # boto3's default for S3 presigning: query-string v2


def test_clients_made_after_it_sign_with_the_local_keys_even_if_boto3_read_others_before(
        restored_environment, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "EARLIER-KEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "earlier-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    assert signing_key(boto3.client("s3", region_name="us-east-1")) == "EARLIER-KEY"  # the default session read these
    use_local_credentials("http://127.0.0.1:9")
    client = boto3.client("s3")
    assert signing_key(client) == LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
