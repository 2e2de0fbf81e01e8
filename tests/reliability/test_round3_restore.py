"""Issue 20.4: a rejection that can be lifted is lifted — an archived photo, once restored, is diagnosed.

moto supports GLACIER: GET answers InvalidObjectState until restore_object, which moto completes at
once (S3 takes minutes to hours, then sends s3:ObjectRestore:Completed). Every origin is tried
after the restore: the API, Batch Operations, the backfill command, and the restore's own event.
"""

import copy

from model.synthetic import LABELS
from ops import backfill
from tests.reliability.round3 import (
    EVENTS,
    SMALL,
    batch_job,
    get_result,
    post_key,
    queued_events,
    result_codes,
    statuses,
)

PREFIX = "garden-images/round3-restore/"
KEY = PREFIX + "archived leaf.jpg"


def archived_then_restored(rig, leaf_jpeg):
    """An upload to GLACIER, rejected by its own event ("restore it to diagnose it"), then restored.
    Returns the upload's event."""
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=KEY, Body=leaf_jpeg(4, size=SMALL), StorageClass="GLACIER")
    (event,) = queued_events(rig)
    reply = rig.invoke(event)
    assert statuses(reply) == ["rejected"] and "restore" in reply["results"][0]["reason"], reply
    rig.s3.restore_object(Bucket=rig.stack.bucket, Key=KEY, RestoreRequest={"Days": 1})
    assert 'ongoing-request="false"' in rig.s3.head_object(Bucket=rig.stack.bucket, Key=KEY)["Restore"]
    return event


def assert_diagnosed(rig):
    status, body = get_result(rig, KEY)
    assert status == 200 and body["status"] == "ok" and body["label"] == LABELS[4], body


def test_the_api_diagnoses_a_restored_photo(make_rig, leaf_jpeg):
    rig = make_rig()
    archived_then_restored(rig, leaf_jpeg)
    status, body = post_key(rig, KEY)
    assert status == 200 and body.get("status") == "ok" and body.get("label") == LABELS[4], (status, body)
    assert_diagnosed(rig)


def test_batch_operations_diagnoses_a_restored_photo(make_rig, leaf_jpeg):
    rig = make_rig()
    archived_then_restored(rig, leaf_jpeg)
    reply = rig.invoke(batch_job(rig, KEY))
    assert result_codes(reply) == [("Succeeded", "ok")], reply["results"]
    assert_diagnosed(rig)


def test_the_backfill_diagnoses_a_restored_photo(make_rig, leaf_jpeg, monkeypatch, capsys):
    rig = make_rig()
    archived_then_restored(rig, leaf_jpeg)
    # The command reads the deployment's settings from the environment, as it does in AWS.
    monkeypatch.setenv("TABLE_NAME", rig.stack.table)
    monkeypatch.setenv("IMAGES_BUCKET", rig.stack.bucket)
    monkeypatch.setenv("RESULT_SINK", "dynamodb")
    assert backfill.main([f"s3://{rig.stack.bucket}/{PREFIX}", "--no-progress"]) == 0
    assert_diagnosed(rig)


def test_the_restore_completed_event_diagnoses_the_photo_by_itself(make_rig, leaf_jpeg):
    rig = make_rig()
    upload = archived_then_restored(rig, leaf_jpeg)
    # The notification S3 sends when the restore completes (moto sends none): the upload's record,
    # renamed; restore events carry no sequencer.
    restored = copy.deepcopy(upload)
    record = restored["Records"][0]
    record["eventName"] = "ObjectRestore:Completed"
    record["s3"]["object"].pop("sequencer", None)
    assert statuses(rig.invoke(restored)) == ["ok"]
    assert_diagnosed(rig)
    template = (EVENTS.parent / "template.yaml").read_text(encoding="utf-8")
    assert "s3:ObjectRestore:Completed" in template, "the bucket's notifications do not name the restore"
