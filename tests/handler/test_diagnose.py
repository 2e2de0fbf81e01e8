"""One object through the real pipeline: moto S3/DynamoDB in-process, the bundled model, LiteRT."""

from dataclasses import replace

import pytest

from handler.domain import ObjectRef, Origin
from model.synthetic import LABELS
from tests.handler.conftest import BUCKET


def upload(aws, key, body, **extra):
    response = aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="image/jpeg", **extra)
    return ObjectRef(bucket=BUCKET, key=key, etag=response["ETag"].strip('"'))


@pytest.mark.parametrize("index", range(len(LABELS)))
def test_known_leaf_is_diagnosed_and_stored_in_both_sinks(aws, container, leaf_jpeg, index):
    ref = upload(aws, f"garden-images/{LABELS[index]}.jpg", leaf_jpeg(index))
    outcome = container.diagnoser.diagnose(ref)
    assert outcome.status == "ok"
    item = container.table.get(ref.uri)
    assert item["label"] == LABELS[index]
    assert item["status"] == "ok" and 0 < item["confidence"] <= 1
    assert item["model_version"] == container.classifier.model_version
    assert item["etag"] == ref.etag and item["top_k"][0]["label"] == LABELS[index]
    meta = aws["s3"].head_object(Bucket=BUCKET, Key=ref.key)["Metadata"]
    assert meta["diagnosis-label"] == LABELS[index]
    assert meta["diagnosis-model"] == container.classifier.model_version


def test_own_write_back_is_never_diagnosed_again(aws, container, leaf_jpeg):
    # As real S3 sends them: the copy's event carries a later sequencer than the upload's.
    ref = replace(upload(aws, "garden-images/once.jpg", leaf_jpeg(0)), sequencer="0062E99A88DC407460")
    first = container.diagnoser.diagnose(ref)
    copy_event = replace(ref, event_name="ObjectCreated:Copy", sequencer="0062E99A88DC407461")
    second = container.diagnoser.diagnose(copy_event)
    assert first.status == "ok"
    assert second.status == "skipped" and "own write-back" in second.reason
    assert container.table.get(ref.uri)["diagnosed_at"] == first.record.diagnosed_at


def test_corrupt_object_gets_a_rejected_record(aws, container):
    ref = upload(aws, "garden-images/broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    outcome = container.diagnoser.diagnose(ref)
    item = container.table.get(ref.uri)
    assert outcome.status == "rejected"
    assert item["status"] == "rejected" and "corrupt" in item["error"]
    assert "label" not in item


def test_object_over_the_byte_limit_is_rejected_unread(aws, container, leaf_jpeg):
    from handler.config import Settings
    from handler.container import Container

    small = Container(Settings(table_name=container.settings.table_name, max_image_bytes=1_000))
    ref = upload(aws, "garden-images/big.jpg", leaf_jpeg(1))
    outcome = small.diagnoser.diagnose(ref)
    assert outcome.status == "rejected" and "the limit is 1,000" in outcome.reason
    assert small.table.get(ref.uri)["status"] == "rejected"


def test_key_outside_the_prefix_is_skipped_and_not_recorded(aws, container, leaf_jpeg):
    ref = upload(aws, "uploads/leaf.jpg", leaf_jpeg(0))
    outcome = container.diagnoser.diagnose(ref)
    assert outcome.status == "skipped" and "outside IMAGE_PREFIX" in outcome.reason
    assert container.table.get(ref.uri) is None


def test_deleted_object_is_skipped_not_retried(aws, container, leaf_jpeg):
    ref = upload(aws, "garden-images/gone.jpg", leaf_jpeg(0))
    aws["s3"].delete_object(Bucket=BUCKET, Key=ref.key)
    outcome = container.diagnoser.diagnose(ref)
    assert outcome.status == "skipped" and "gone" in outcome.reason
    assert container.table.get(ref.uri) is None


def test_replaced_object_is_not_diagnosed_under_the_old_event(aws, container, leaf_jpeg):
    old = upload(aws, "garden-images/replaced.jpg", leaf_jpeg(0))
    upload(aws, "garden-images/replaced.jpg", leaf_jpeg(2))
    outcome = container.diagnoser.diagnose(old)
    assert outcome.status == "skipped"
    assert container.table.get(old.uri) is None


def test_removal_events_are_ignored(aws, container):
    ref = ObjectRef(bucket=BUCKET, key="garden-images/x.jpg", event_name="ObjectRemoved:Delete")
    assert container.diagnoser.diagnose(ref).status == "skipped"


@pytest.mark.parametrize("origin", [Origin.API, Origin.BACKFILL, Origin.BATCH_OPERATIONS])
def test_an_existing_object_named_without_an_s3_event_is_diagnosed(aws, container, leaf_jpeg, origin):
    ref = replace(upload(aws, f"garden-images/{origin}.jpg", leaf_jpeg(1)), event_name=None, origin=origin)
    assert container.diagnoser.diagnose(ref).status == "ok"
    assert container.table.get(ref.uri)["label"] == LABELS[1]
