"""Buffered mode: S3 events arrive in SQS batches; only the messages that need a retry come back."""

import json

import boto3
import pytest

from handler.sources.s3 import decode_s3_key
from local.aws import create_resources, drain_events
from local.context import LocalContext
from local.invoke import seed_objects
from local.queue import receive_event, settle
from model.synthetic import LABELS
from tests.conftest import EVENTS
from tests.e2e.conftest import stored

FIXTURE_BUCKET = "leaf-images-local"  # the bucket the events/ fixtures name
QUEUE_BUCKET = "leaf-images-buffered"


@pytest.fixture(scope="module")
def fixture_bucket(local_stack):
    boto3.client("s3").create_bucket(Bucket=FIXTURE_BUCKET)
    return FIXTURE_BUCKET


@pytest.fixture(scope="module")
def buffered(local_stack):
    """A second bucket whose uploads go to their own queue, as IngestionMode=buffered deploys it."""
    return create_resources(bucket=QUEUE_BUCKET, queue="buffered-uploads", create_table=False)


@pytest.fixture
def queue(buffered):
    """The buffered queue, emptied of what S3 or earlier tests left there."""
    for _ in drain_events(buffered.queue_url, wait_seconds=0):
        pass
    return buffered.queue_url


def test_the_sqs_fixture_diagnoses_every_message(app, fixture_bucket):
    event = seed_objects(json.loads((EVENTS / "sqs-s3-put.json").read_text(encoding="utf-8")))
    reply = app.lambda_handler(event, LocalContext())
    assert reply == {"batchItemFailures": []}
    for key in ("garden-images/tomato-leaf.jpg", "garden-images/my garden/leaf (1).jpg"):
        assert stored(app, FIXTURE_BUCKET, key)["status"] == "ok", key


def test_one_unreadable_message_is_the_only_one_reported(app, queue, leaf_jpeg):
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    keys = [f"garden-images/buffered/leaf-{i}.jpg" for i in range(4)]
    for i, key in enumerate(keys[:2]):
        s3.put_object(Bucket=QUEUE_BUCKET, Key=key, Body=leaf_jpeg(i, seed=710_000))
    bad_id = sqs.send_message(QueueUrl=queue, MessageBody="this is not an S3 event")["MessageId"]
    for i, key in enumerate(keys[2:], start=2):
        s3.put_object(Bucket=QUEUE_BUCKET, Key=key, Body=leaf_jpeg(i, seed=710_000))

    event = receive_event(queue, batch_size=10)
    assert len(event["Records"]) == 5
    reply = app.lambda_handler(event, LocalContext())

    assert reply == {"batchItemFailures": [{"itemIdentifier": bad_id}]}
    for i, key in enumerate(keys):
        item = stored(app, QUEUE_BUCKET, key)
        assert (item["status"], item["label"]) == ("ok", LABELS[i]), key
    assert settle(queue, event, reply) == [bad_id]


def test_a_throttled_read_fails_only_its_message(app, queue, leaf_jpeg, monkeypatch):
    from handler.errors import TransientError

    s3 = boto3.client("s3")
    keys = [f"garden-images/buffered/throttled-{i}.jpg" for i in range(3)]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=QUEUE_BUCKET, Key=key, Body=leaf_jpeg(i, seed=720_000))
    event = receive_event(queue, batch_size=10)
    by_key = {
        decode_s3_key(json.loads(r["body"])["Records"][0]["s3"]["object"]["key"]): r["messageId"]
        for r in event["Records"]
    }

    reader = app.container.reader
    real_fetch = reader.fetch

    def throttled(ref):
        if ref.key == keys[1]:
            raise TransientError("SlowDown")
        return real_fetch(ref)

    monkeypatch.setattr(reader, "fetch", throttled)
    reply = app.lambda_handler(event, LocalContext())

    assert reply == {"batchItemFailures": [{"itemIdentifier": by_key[keys[1]]}]}
    assert stored(app, QUEUE_BUCKET, keys[0])["status"] == "ok"
    assert stored(app, QUEUE_BUCKET, keys[1]) is None


def test_the_s3_test_event_message_succeeds(app, queue):
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queue, MessageBody=(EVENTS / "s3-test-event.json").read_text(encoding="utf-8"))
    event = receive_event(queue)
    assert app.lambda_handler(event, LocalContext()) == {"batchItemFailures": []}
