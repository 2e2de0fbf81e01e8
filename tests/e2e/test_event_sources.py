"""EventBridge and S3 Batch Operations events through the real handler, against the local S3 and DynamoDB."""

import json

import boto3
import pytest

from handler.errors import TransientError
from local.context import LocalContext
from local.invoke import seed_objects
from model.synthetic import LABELS
from tests.conftest import EVENTS
from tests.e2e.conftest import BUCKET, stored

FIXTURE_BUCKET = "leaf-images-local"


@pytest.fixture(scope="module", autouse=True)
def fixture_bucket(local_stack):
    s3 = boto3.client("s3")
    if FIXTURE_BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=FIXTURE_BUCKET)


def fixture(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def batch_event(key: str, version: str = "2.0") -> dict:
    event = fixture(f"batch-ops-v{version[0]}.json")
    task = event["tasks"][0]
    task["s3Key"] = key
    if version == "2.0":
        task["s3Bucket"] = BUCKET
    else:
        task["s3BucketArn"] = f"arn:aws:s3:::{BUCKET}"
    return event


def test_eventbridge_fixture_is_diagnosed_with_its_raw_key(app):
    event = seed_objects(fixture("eventbridge-s3-object-created.json"))
    reply = app.lambda_handler(event, LocalContext())
    key = "garden-images/my garden/leaf+1 (100%).jpg"
    assert [r["status"] for r in reply["results"]] == ["ok"]
    assert stored(app, FIXTURE_BUCKET, key)["sequencer"] == "617f08299329d189"


def test_eventbridge_retryable_failure_raises_so_lambda_retries(app, monkeypatch):
    event = seed_objects(fixture("eventbridge-s3-object-created.json"))
    event["detail"]["object"]["sequencer"] = "617f08299329d18a"  # a later upload: the fixture's own is already recorded
    monkeypatch.setattr(app.container.reader, "fetch", throttled)
    with pytest.raises(TransientError, match="SlowDown"):
        app.lambda_handler(event, LocalContext())


@pytest.mark.parametrize("name", ["batch-ops-v1.json", "batch-ops-v2.json"])
def test_batch_operations_fixtures_succeed_and_store_a_result(app, name):
    event = seed_objects(fixture(name))
    reply = app.lambda_handler(event, LocalContext())
    (result,) = reply["results"]
    assert (reply["invocationId"], reply["invocationSchemaVersion"]) == (
        event["invocationId"],
        event["invocationSchemaVersion"],
    )
    assert result["taskId"] == event["tasks"][0]["taskId"] and result["resultCode"] == "Succeeded"
    key = {
        "batch-ops-v1.json": "garden-images/backfill/tomato-leaf.jpg",
        "batch-ops-v2.json": "garden-images/backfill/my garden/leaf (1).jpg",
    }[name]
    assert stored(app, FIXTURE_BUCKET, key)["status"] == "ok"


def test_batch_operations_known_leaf_succeeds_with_its_label(app, s3, leaf_jpeg):
    key = "garden-images/batch/known rust+1.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(LABELS.index("Synthleaf_rust"), seed=730_000))
    reply = app.lambda_handler(batch_event("garden-images/batch/known+rust%2B1.jpg", "1.0"), LocalContext())
    assert reply["results"][0]["resultCode"] == "Succeeded"
    assert reply["results"][0]["resultString"].startswith("ok: Synthleaf_rust")
    assert stored(app, BUCKET, key)["label"] == "Synthleaf_rust"


def test_batch_operations_corrupt_image_is_a_permanent_failure_and_recorded_rejected(app, s3, leaf_jpeg):
    key = "garden-images/batch/corrupt.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(0)[:300])
    (result,) = app.lambda_handler(batch_event(key), LocalContext())["results"]
    assert result["resultCode"] == "PermanentFailure" and result["resultString"].startswith("rejected:")
    assert stored(app, BUCKET, key)["status"] == "rejected"


def test_batch_operations_throttling_is_a_temporary_failure(app, s3, leaf_jpeg, monkeypatch):
    key = "garden-images/batch/throttled.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(1))
    monkeypatch.setattr(app.container.reader, "fetch", throttled)
    (result,) = app.lambda_handler(batch_event(key), LocalContext())["results"]
    assert result["resultCode"] == "TemporaryFailure" and "SlowDown" in result["resultString"]
    assert stored(app, BUCKET, key) is None


def test_batch_operations_missing_object_is_skipped_not_failed(app):
    (result,) = app.lambda_handler(batch_event("garden-images/batch/never-uploaded.jpg"), LocalContext())[
        "results"
    ]
    assert result["resultCode"] == "Succeeded" and result["resultString"].startswith("skipped:")


def throttled(ref):
    raise TransientError("SlowDown: reduce your request rate")
