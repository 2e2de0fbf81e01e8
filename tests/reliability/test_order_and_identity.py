"""Writes without a sequencer keep the stored order; Batch Operations tasks have one identity;
an older event that meets a newer claim or result is done, never retried."""

import json
import uuid

import pytest

from model.synthetic import LABELS
from ops.backfill_todo import Listed
from tests.conftest import EVENTS
from tests.reliability.test_idempotency import SMALL, events_for, statuses


def batch_job(rig, key, version_id=None):
    """An S3 Batch Operations (schema 2.0) invocation naming one object, keys URL-encoded as the manifest has them."""
    event = json.loads((EVENTS / "batch-ops-v2.json").read_text(encoding="utf-8"))
    event["invocationId"] = uuid.uuid4().hex
    event["tasks"] = [{"taskId": uuid.uuid4().hex, "s3Bucket": rig.stack.bucket,
                       "s3Key": key.replace(" ", "+"), "s3VersionId": version_id}]
    return event


def result_codes(reply):
    return [(r["resultCode"], r["resultString"].split(":")[0]) for r in reply["results"]]


def diagnose_unsequenced(rig, source, key):
    """One write that carries no sequencer: a Batch Operations task, or the backfill's own Diagnoser."""
    if source == "batch-operations":
        reply = rig.invoke(batch_job(rig, key))
        assert result_codes(reply) == [("Succeeded", "ok")]
    else:
        head = rig.s3.head_object(Bucket=rig.stack.bucket, Key=key)
        listed = Listed(rig.stack.bucket, key, head["ETag"].strip('"'), head["ContentLength"])
        assert rig.container.diagnoser.diagnose(listed.ref()).status == "ok"


@pytest.mark.parametrize("source", ["batch-operations", "backfill"])
def test_a_write_without_a_sequencer_keeps_the_stored_order(make_rig, leaf_jpeg, source):
    # Versioned: the late event can still read its own (older) version, so only the stored order stops it.
    rig = make_rig(versioned=True)
    key = f"garden-images/unsequenced-{source}/leaf.jpg"
    rig.upload(key, leaf_jpeg(0, size=SMALL))
    rig.upload(key, leaf_jpeg(2, size=SMALL))
    old, new = events_for(rig)
    assert statuses(rig.invoke(new)) == ["ok"]
    rig.classifier.new_version = "e" * 16  # a new model: the unsequenced write really replaces the row
    diagnose_unsequenced(rig, source, key)
    stored = rig.stored(key)
    assert stored["label"] == LABELS[2] and stored["model_version"] == "e" * 16
    assert statuses(rig.invoke(old)) == ["skipped"]  # S3's late, older event
    assert rig.stored(key)["label"] == LABELS[2]
    assert rig.stored(key)["model_version"] == "e" * 16


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_a_batch_operations_job_run_twice_diagnoses_each_object_once(make_rig, leaf_jpeg, versioned):
    rig = make_rig(versioned=versioned)
    key = "garden-images/batch twice/leaf (1).jpg"
    put = rig.upload(key, leaf_jpeg(3, size=SMALL))
    events_for(rig)
    version = put.get("VersionId") if versioned else None
    first = rig.invoke(batch_job(rig, key, version))
    second = rig.invoke(batch_job(rig, key, version))  # the same manifest, submitted again
    assert result_codes(first) == [("Succeeded", "ok")]
    assert result_codes(second) == [("Succeeded", "skipped")]
    assert "already recorded" in second["results"][0]["resultString"]
    assert rig.classifier.inferences == 1 and rig.writes() == 1
    stored = rig.stored(key)
    assert stored["label"] == LABELS[3] and stored["etag"] == put["ETag"].strip('"')


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_an_older_upload_in_the_same_batch_is_superseded_never_retried(make_rig, leaf_jpeg, versioned):
    rig = make_rig(versioned=versioned)
    runs, failed = 20, 0
    for run in range(runs):
        key = f"garden-images/two-uploads/leaf-{run}.jpg"
        rig.upload(key, leaf_jpeg(1, seed=900_000 + run, size=SMALL))
        rig.upload(key, leaf_jpeg(4, seed=900_000 + run, size=SMALL))
        event = rig.receive()
        assert len(event["Records"]) == 2, "both uploads in one SQS batch"
        reply = rig.invoke(event)
        failed += len(reply["batchItemFailures"])
        assert rig.stored(key)["label"] == LABELS[4], key
    print(f"\ntwo uploads of one key per SQS batch, {runs} batches ({'versioned' if versioned else 'unversioned'}): "
          f"{failed} batchItemFailures")
    assert failed == 0


def test_the_api_answers_an_object_its_s3_event_diagnosed_without_a_second_inference(make_rig, leaf_jpeg):
    from tests.e2e.api_helpers import api_event, call, with_json

    rig = make_rig(versioned=True)  # the event names a version: the API's request must name the same one
    key = "garden-images/api-after-event/leaf.jpg"
    rig.upload(key, leaf_jpeg(4, size=SMALL))
    (event,) = events_for(rig)
    assert statuses(rig.invoke(event)) == ["ok"]
    status, body = call(rig.app, with_json(api_event("api-diagnose-key.json"), {"key": key}))
    assert status == 200 and body["label"] == LABELS[4]
    assert rig.classifier.inferences == 1 and rig.writes() == 1
