"""Issue 20.2: with the s3-metadata sink, never serve a result this function did not write.

Anyone who may upload can set x-amz-meta-diagnosis-*. Whatever the fix (a MAC, a secret's source),
the observable promise is: where our write-back did not land, GET /diagnoses/{key} and
POST /diagnoses never answer with the uploader's label; where we wrote nothing, GET says "no
result yet" (404). The forged metadata names the deployed model, read from an API answer.
"""

import base64
import json

from model.synthetic import LABELS
from tests.reliability.round3 import (
    FORGED_LABEL,
    SMALL,
    call,
    event_fixture,
    forged,
    get_result,
    post_key,
    queued_events,
    statuses,
    with_text_body,
)

PREFIX = "garden-images/round3-forged/"


def deployed_model(rig, leaf_jpeg):
    """The model version the API prints in every answer: what a forger copies into its metadata."""
    photo = base64.b64encode(leaf_jpeg(0, size=SMALL)).decode("ascii")
    event = with_text_body(event_fixture("api-diagnose-upload.json"), photo, "image/jpeg")
    event["isBase64Encoded"] = True
    status, body = call(rig, event)
    assert status == 200, body
    return body["model_version"]


def near_the_limit(meta):
    """Pad user metadata to 2,045 bytes (keys and values, as S3 counts them): our own result, whose
    label (LABELS[3], 24 characters) is longer than the forged one, no longer fits."""
    size = sum(len(k) + len(v) for k, v in meta.items())
    return {**meta, "padding": "p" * (2045 - size - len("padding"))}


def assert_not_forged(body):
    assert FORGED_LABEL not in json.dumps(body), f"served the uploader's own label: {body}"


def test_forged_metadata_near_the_size_limit_is_never_served(make_rig, leaf_jpeg):
    rig = make_rig(sink="s3-metadata")
    key = PREFIX + "near-limit.jpg"
    meta = near_the_limit(forged(deployed_model(rig, leaf_jpeg)))
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=key, Body=leaf_jpeg(3, size=SMALL), Metadata=meta)
    (event,) = queued_events(rig)
    rig.invoke(event)  # diagnosed; the result does not fit beside the uploader's metadata
    status, body = get_result(rig, key)
    assert_not_forged(body)
    assert status == 404, body


def test_a_rejected_upload_never_serves_its_forged_label(make_rig, leaf_jpeg):
    rig = make_rig(sink="s3-metadata")
    key = PREFIX + "not-an-image.jpg"
    meta = forged(deployed_model(rig, leaf_jpeg))
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=key, Body=b"%PDF-1.4 not a photo", Metadata=meta)
    (event,) = queued_events(rig)
    assert statuses(rig.invoke(event)) == ["rejected"]
    status, body = get_result(rig, key)
    assert_not_forged(body)
    assert status == 404 or (status == 200 and body["status"] == "rejected" and body["label"] is None), body


def test_an_archived_upload_never_serves_its_forged_label(make_rig, leaf_jpeg):
    rig = make_rig(sink="s3-metadata")
    key = PREFIX + "archived.jpg"
    meta = forged(deployed_model(rig, leaf_jpeg))
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=key, Body=leaf_jpeg(1, size=SMALL), Metadata=meta,
                      StorageClass="GLACIER")
    (event,) = queued_events(rig)
    rig.invoke(event)
    status, body = get_result(rig, key)
    assert_not_forged(body)
    assert status == 404 or (status == 200 and body["status"] == "rejected" and body["label"] is None), body


def test_an_object_copied_with_forged_metadata_has_no_result_yet(make_rig, leaf_jpeg):
    rig = make_rig(sink="s3-metadata")
    source, key = PREFIX + "source.jpg", PREFIX + "copied.jpg"
    meta = forged(deployed_model(rig, leaf_jpeg))
    rig.upload(source, leaf_jpeg(4, size=SMALL))
    rig.s3.copy_object(Bucket=rig.stack.bucket, Key=key, CopySource={"Bucket": rig.stack.bucket, "Key": source},
                       MetadataDirective="REPLACE", Metadata=meta)
    queued_events(rig)  # the stack subscribes to no Copy: nothing of ours ever looks at this object
    status, body = get_result(rig, key)
    assert_not_forged(body)
    assert status == 404, body


def test_post_never_answers_with_a_forged_label_it_could_not_replace(make_rig, leaf_jpeg):
    rig = make_rig(sink="s3-metadata")
    key = PREFIX + "posted.jpg"
    meta = near_the_limit(forged(deployed_model(rig, leaf_jpeg)))
    rig.s3.put_object(Bucket=rig.stack.bucket, Key=key, Body=leaf_jpeg(3, size=SMALL), Metadata=meta)
    queued_events(rig)  # its event is not delivered: the API call is what diagnoses it
    status, body = post_key(rig, key)
    assert_not_forged(body)
    if status == 200:
        assert body["label"] == LABELS[3], body
