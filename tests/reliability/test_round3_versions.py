"""Issue 20.1, versions: an older version never overwrites the current result, a deleted photo is not diagnosed.

Every test runs on a versioned bucket (sink dynamodb) and reads the result the way a caller does,
GET /diagnoses/{key}. moto answers HEAD ?versionId=<delete marker> with 405 as S3 does; a GET of
that version it answers 404 NoSuchVersion where S3 answers 405 (no test here depends on that).
"""

import threading

import pytest

from model.synthetic import LABELS
from ops import backfill
from tests.reliability.round3 import (
    SMALL,
    batch_job,
    eventbridge_event,
    get_result,
    post_key,
    queued_events,
    result_codes,
    statuses,
)

KEY = "garden-images/round3-versions/leaf.jpg"


def two_versions(rig, leaf_jpeg, old_label=0, new_label=2):
    """V1 then V2 uploaded; V2's own S3 event diagnosed. Returns V1's and V2's put replies."""
    v1 = rig.upload(KEY, leaf_jpeg(old_label, size=SMALL))
    v2 = rig.upload(KEY, leaf_jpeg(new_label, size=SMALL))
    _, new_event = queued_events(rig)
    assert statuses(rig.invoke(new_event)) == ["ok"]
    status, body = get_result(rig, KEY)
    assert status == 200 and body["label"] == LABELS[new_label]
    return v1, v2


def test_a_batch_task_naming_an_older_version_leaves_the_current_result(make_rig, leaf_jpeg):
    rig = make_rig(versioned=True)
    v1, _ = two_versions(rig, leaf_jpeg)
    reply = rig.invoke(batch_job(rig, KEY, v1["VersionId"]))
    assert result_codes(reply)[0][0] == "Succeeded", reply
    status, body = get_result(rig, KEY)
    assert status == 200 and body["label"] == LABELS[2], f"V1's task overwrote V2's result: {body}"


def test_an_event_without_a_sequencer_for_an_older_version_leaves_the_current_result(make_rig, leaf_jpeg):
    rig = make_rig(versioned=True)
    v1, _ = two_versions(rig, leaf_jpeg)
    # EventBridge (or a hand-made event) naming V1 late, with no sequencer to order it by.
    late = eventbridge_event(rig, KEY, v1["ETag"].strip('"'), version_id=v1["VersionId"])
    rig.invoke(late)
    status, body = get_result(rig, KEY)
    assert status == 200 and body["label"] == LABELS[2], f"V1's late event overwrote V2's result: {body}"


@pytest.fixture
def hold_first(monkeypatch):
    """moto's server (in this process) answers the first HEAD or GET of KEY, then holds the reply until
    released. The hook sits in the emulated S3, not in the handler: the handler is only driven through
    its entry points. hold("head_object" | "get_object") returns (answered, release) events.
    """
    from moto.s3.responses import S3Response

    def hold(operation):
        original = getattr(S3Response, operation)
        answered, release, armed = threading.Event(), threading.Event(), threading.Event()
        armed.set()

        def held(self, *args, **kwargs):
            reply = original(self, *args, **kwargs)
            if armed.is_set() and self.parse_key_name() == KEY:
                armed.clear()
                answered.set()
                assert release.wait(timeout=60)
            return reply

        monkeypatch.setattr(S3Response, operation, held)
        return answered, release

    return hold


def race_a_new_upload(rig, leaf_jpeg, hold, read_v1):
    """V1 is uploaded (its event never delivered); read_v1() diagnoses it on a thread. While S3's reply
    to its read is held, V2 is uploaded and its own event stores V2's result; then the reply goes out."""
    answered, release = hold
    rig.upload(KEY, leaf_jpeg(0, size=SMALL))
    queued_events(rig)
    done = []
    worker = threading.Thread(target=lambda: done.append(read_v1()))
    worker.start()
    try:
        assert answered.wait(timeout=60), "V1 was never read"
        rig.upload(KEY, leaf_jpeg(2, size=SMALL))
        (new_event,) = queued_events(rig)
        assert statuses(rig.invoke(new_event)) == ["ok"]
    finally:
        release.set()
        worker.join(timeout=60)
    assert done, "the call that read V1 did not finish"
    status, body = get_result(rig, KEY)
    assert status == 200 and body["label"] == LABELS[2], f"V1's result was stored over V2's: {body}"


def test_an_api_call_racing_a_new_upload_never_stores_the_older_result(make_rig, leaf_jpeg, hold_first):
    rig = make_rig(versioned=True)  # the API's HEAD saw V1 and its version; V2 lands before V1's write
    race_a_new_upload(rig, leaf_jpeg, hold_first("head_object"), lambda: post_key(rig, KEY))


def test_an_api_call_whose_read_races_a_new_upload_never_stores_the_older_result(make_rig, leaf_jpeg, hold_first):
    rig = make_rig()  # unversioned: V1's bytes are read (If-Match), V2 is stored, then V1's write comes
    race_a_new_upload(rig, leaf_jpeg, hold_first("get_object"), lambda: post_key(rig, KEY))


def test_a_backfill_whose_read_races_a_new_upload_never_stores_the_older_result(make_rig, leaf_jpeg, hold_first,
                                                                               monkeypatch):
    rig = make_rig()
    # The command reads the deployment's settings from the environment, as it does in AWS.
    monkeypatch.setenv("TABLE_NAME", rig.stack.table)
    monkeypatch.setenv("IMAGES_BUCKET", rig.stack.bucket)
    monkeypatch.setenv("RESULT_SINK", "dynamodb")
    folder = f"s3://{rig.stack.bucket}/{KEY.rsplit('/', 1)[0]}/"
    race_a_new_upload(rig, leaf_jpeg, hold_first("get_object"),
                      lambda: backfill.main([folder, "--no-progress", "--workers", "1"]))


def test_an_event_for_a_photo_now_behind_a_delete_marker_is_skipped(make_rig, leaf_jpeg):
    rig = make_rig(versioned=True)
    rig.upload(KEY, leaf_jpeg(1, size=SMALL))
    rig.s3.delete_object(Bucket=rig.stack.bucket, Key=KEY)  # the current version is now a delete marker
    (event,) = queued_events(rig)  # the upload's event, delivered after the delete
    reply = rig.invoke(event)
    assert statuses(reply) == ["skipped"], reply
    status, _ = get_result(rig, KEY)
    assert status == 404


def test_a_batch_task_naming_a_delete_marker_succeeds_as_skipped(make_rig, leaf_jpeg):
    rig = make_rig(versioned=True)
    rig.upload(KEY, leaf_jpeg(1, size=SMALL))
    marker = rig.s3.delete_object(Bucket=rig.stack.bucket, Key=KEY)
    assert marker["DeleteMarker"]
    queued_events(rig)
    reply = rig.invoke(batch_job(rig, KEY, marker["VersionId"]))
    assert result_codes(reply) == [("Succeeded", "skipped")], reply["results"]
