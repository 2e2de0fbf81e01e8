"""EventBridge on an existing bucket: ops.bucket_events on moto's server, and the stack's rule pattern."""

from __future__ import annotations

import io
import json

import boto3
import pytest

from local.context import LocalContext
from local.queue import receive_event
from local.template import Deployment
from model.synthetic import LABELS
from ops import bucket_events
from tests.e2e.conftest import stored

BUCKET = "seed-web-app-e2e"  # a bucket someone already has, with notifications of their own
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer"


@pytest.fixture(scope="module")
def in_process_s3():
    """A moto server in this process, for the notification-configuration tests (see below)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def notifications_s3(in_process_s3, monkeypatch):
    """moto 5.2 stores EventBridgeConfiguration but leaves it out of GetBucketNotificationConfiguration.

    Real S3 returns it (an empty element). The e2e stack's moto runs in a process of its own (it
    enforces IAM), so these tests use a moto server in this process, whose reply is completed here
    from what moto stored. Everything else in the reply is moto's own.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL", in_process_s3)
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification

    def get_bucket_notification(self):
        status, headers, body = original(self)
        stored = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if stored is None or stored.event_bridge is None:
            return status, headers, body
        body = (body.decode() if isinstance(body, bytes) else body).rstrip()
        if body.endswith("/>"):  # <NotificationConfiguration .../> when nothing else is configured
            body = body[:-2] + "></NotificationConfiguration>"
        body = body.replace("</NotificationConfiguration>", "<EventBridgeConfiguration/></NotificationConfiguration>")
        headers = {k: v for k, v in dict(headers).items() if k.lower() != "content-length"}
        return status, headers, body

    monkeypatch.setattr(S3Response, "get_bucket_notification", get_bucket_notification)


@pytest.fixture
def bucket(local_stack):
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    s3.create_bucket(Bucket=BUCKET)
    queue_url = sqs.create_queue(QueueName="seed-audit")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "audit-deletes",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectRemoved:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "garden/"}]}},
                }
            ],
            "LambdaFunctionConfigurations": [
                {
                    "Id": "thumbnails",
                    "LambdaFunctionArn": FUNCTION_ARN,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".png"}]}},
                }
            ],
        },
    )
    yield BUCKET
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={})
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    s3.delete_bucket(Bucket=BUCKET)
    sqs.delete_queue(QueueUrl=queue_url)


def configuration() -> dict:
    return bucket_events.read_configuration(boto3.client("s3"), BUCKET)


def counting_client() -> tuple[object, list[str]]:
    """An S3 client that records every PutBucketNotificationConfiguration it sends."""
    s3 = boto3.client("s3")
    puts: list[str] = []
    s3.meta.events.register(
        "before-call.s3.PutBucketNotificationConfiguration", lambda **kwargs: puts.append("put")
    )
    return s3, puts


def run(s3, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = bucket_events.run(s3, args[0], args[1], dry_run="--dry-run" in args, out=out)
    return code, out.getvalue()


def test_enable_adds_eventbridge_and_keeps_the_queue_and_lambda_notifications(notifications_s3, bucket):
    before = configuration()
    assert bucket_events.EVENTBRIDGE not in before
    s3, puts = counting_client()

    code, out = run(s3, "enable", f"s3://{bucket}")
    assert code == 0 and puts == ["put"]
    assert "turned EventBridge notifications off -> on" in out
    assert "1 queue, 0 topic, 1 Lambda function" in out
    after = configuration()
    assert after[bucket_events.EVENTBRIDGE] == {}
    assert after["QueueConfigurations"] == before["QueueConfigurations"]
    assert after["LambdaFunctionConfigurations"] == before["LambdaFunctionConfigurations"]

    code, out = run(s3, "enable", f"s3://{bucket}/")
    assert code == 0 and puts == ["put"]  # the second run writes nothing
    assert "already on; nothing written" in out
    assert configuration() == after


def test_disable_removes_only_eventbridge_and_is_idempotent(notifications_s3, bucket):
    s3, puts = counting_client()
    original = configuration()
    run(s3, "enable", f"s3://{bucket}")

    code, out = run(s3, "disable", f"s3://{bucket}")
    assert code == 0 and "turned EventBridge notifications on -> off" in out
    assert configuration() == original
    code, out = run(s3, "disable", f"s3://{bucket}")
    assert code == 0 and "already off; nothing written" in out
    assert puts == ["put", "put"]


def test_dry_run_shows_the_change_and_writes_nothing(notifications_s3, bucket):
    s3, puts = counting_client()
    before = configuration()
    code, out = run(s3, "enable", f"s3://{bucket}", "--dry-run")
    assert code == 0 and puts == []
    assert "would turn EventBridge notifications off -> on" in out and "dry run: nothing written" in out
    assert configuration() == before


def test_a_prefix_or_a_missing_bucket_is_a_clear_error(notifications_s3, bucket, capsys):
    s3, puts = counting_client()
    assert run(s3, "enable", f"s3://{bucket}/garden/")[0] == 2
    assert "the whole bucket, no prefix" in capsys.readouterr().err
    assert run(s3, "enable", "s3://no-such-bucket-e2e")[0] == 1
    assert "NoSuchBucket" in capsys.readouterr().err
    assert puts == []


def test_the_stacks_rule_sends_uploads_under_the_prefix_to_the_queue_and_never_copies(bucket, app, leaf_jpeg):
    """Buffered mode on an existing bucket: the template's rule in moto's EventBridge, its queue, the handler.

    moto's own S3-to-EventBridge events carry reason "ObjectCreated" where S3 sends "PutObject", so
    the events are put as S3 documents them, for objects that really are in the bucket.
    """
    resources = Deployment(
        {"ExistingBucketName": bucket, "ImagePrefix": "garden-images/", "IngestionMode": "buffered"}
    ).resources()
    pattern = resources["UploadEventsRule"]["Properties"]["EventPattern"]
    s3, sqs, events = boto3.client("s3"), boto3.client("sqs"), boto3.client("events")
    queue_url = sqs.create_queue(QueueName="rule-uploads")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="rule-uploads", EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule="rule-uploads", Targets=[{"Id": "upload-queue", "Arn": queue_arn}])

    def put_event(key: str, reason: str, bucket_name: str = bucket) -> None:
        etag = s3.put_object(Bucket=bucket, Key=key, Body=leaf_jpeg(1))["ETag"].strip('"')
        detail = {
            "version": "0",
            "bucket": {"name": bucket_name},
            "object": {"key": key, "size": 1, "etag": etag, "sequencer": "0062E99A88DC407460"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "reason": reason,
        }
        entry = {"Source": "aws.s3", "DetailType": "Object Created", "Detail": json.dumps(detail),
                 "Resources": [f"arn:aws:s3:::{bucket_name}"]}
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

    try:
        put_event("garden-images/leaf 1.jpg", "PutObject")
        put_event("garden-images/a+b (2).jpg", "POST Object")
        put_event("garden-images/big/leaf-3.jpg", "CompleteMultipartUpload")
        put_event("garden-images/leaf 1.jpg", "CopyObject")  # the metadata write-back
        put_event("garden-images-old/leaf.jpg", "PutObject")  # outside the prefix
        put_event("garden-images/elsewhere.jpg", "PutObject", bucket_name="someone-elses-bucket")

        batch = receive_event(queue_url, batch_size=10)
        bodies = [json.loads(r["body"]) for r in batch["Records"]]
        assert sorted((b["detail"]["object"]["key"], b["detail"]["reason"]) for b in bodies) == [
            ("garden-images/a+b (2).jpg", "POST Object"),
            ("garden-images/big/leaf-3.jpg", "CompleteMultipartUpload"),
            ("garden-images/leaf 1.jpg", "PutObject"),
        ]
        assert app.lambda_handler(batch, LocalContext()) == {"batchItemFailures": []}
        for key in ("garden-images/leaf 1.jpg", "garden-images/a+b (2).jpg", "garden-images/big/leaf-3.jpg"):
            record = stored(app, bucket, key)
            assert record and (record["status"], record["label"]) == ("ok", LABELS[1]), key
    finally:
        events.remove_targets(Rule="rule-uploads", Ids=["upload-queue"])
        events.delete_rule(Name="rule-uploads")
        sqs.delete_queue(QueueUrl=queue_url)
