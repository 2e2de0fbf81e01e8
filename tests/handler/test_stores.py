import time

import pytest

from handler.domain import DiagnosisRecord, ObjectRef
from handler.errors import MetadataNotWritten
from handler.object_metadata import S3MetadataStore, diagnosis_metadata
from handler.objects import ObjectReader
from handler.stores import DynamoResultStore
from tests.handler.conftest import BUCKET, TABLE

RECORD = DiagnosisRecord(
    image=f"s3://{BUCKET}/garden-images/a.jpg",
    status="ok",
    label="Synthleaf_rust",
    confidence=0.931234,
    top_k=(("Synthleaf_rust", 0.931234), ("Synthleaf_leaf spot", 0.05)),
    model_version="abc123",
    diagnosed_at="2026-11-25T10:00:00.000Z",
    latency_ms=12.5,
    etag="d41d8cd98f00b204e9800998ecf8427e",
)


def test_table_item_round_trips_with_numbers_and_top_k(aws):
    store = DynamoResultStore(aws["dynamodb"], TABLE)
    store.save(RECORD, None)
    item = store.get(RECORD.image)
    assert item == RECORD.as_dict()
    raw = aws["dynamodb"].get_item(TableName=TABLE, Key={"image": {"S": RECORD.image}})["Item"]
    assert raw["confidence"] == {"N": "0.931234"}
    assert raw["top_k"]["L"][0]["M"]["label"] == {"S": "Synthleaf_rust"}


def test_rejected_record_keeps_its_error_and_no_label(aws):
    store = DynamoResultStore(aws["dynamodb"], TABLE)
    rejected = DiagnosisRecord(image=RECORD.image, status="rejected", error="not a supported image",
                               model_version="abc123", diagnosed_at=RECORD.diagnosed_at, latency_ms=1.0)
    store.save(rejected, None)
    item = store.get(RECORD.image)
    assert item["status"] == "rejected" and item["error"] == "not a supported image" and "label" not in item


def test_missing_result_is_none(aws):
    assert DynamoResultStore(aws["dynamodb"], TABLE).get("s3://nope/none.jpg") is None


def put_photo(s3, key="garden-images/a.jpg", body=b"jpeg-bytes"):
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="image/png", CacheControl="max-age=60",
                  Metadata={"owner": "ann", "garden": "north"})
    return ObjectReader(s3, 1_000).fetch(ObjectRef(bucket=BUCKET, key=key))


def test_metadata_write_back_keeps_content_type_and_other_metadata(aws):
    s3 = aws["s3"]
    obj = put_photo(s3)
    S3MetadataStore(s3).save(RECORD, obj)
    head = s3.head_object(Bucket=BUCKET, Key="garden-images/a.jpg")
    assert head["ContentType"] == "image/png"
    assert head["CacheControl"] == "max-age=60"
    assert head["Metadata"] == {
        "owner": "ann",
        "garden": "north",
        "diagnosis-label": "Synthleaf_rust",
        "diagnosis-confidence": "0.9312",
        "diagnosis-model": "abc123",
        "diagnosis-status": "ok",
    }
    assert s3.get_object(Bucket=BUCKET, Key="garden-images/a.jpg")["Body"].read() == b"jpeg-bytes"


def test_metadata_copy_is_conditional_on_the_bytes_we_read(aws):
    # Real S3 answers 412 when CopySourceIfMatch no longer holds; moto does not enforce the
    # header, so check that the request carries it (and the version, when there is one).
    s3 = aws["s3"]
    obj = put_photo(s3)
    sent = {}
    s3.meta.events.register("before-call.s3.CopyObject", lambda params, **_: sent.update(params["headers"]))
    S3MetadataStore(s3).save(RECORD, obj)
    assert sent["x-amz-copy-source-if-match"].strip('"') == obj.etag


def test_precondition_failure_means_a_newer_upload_and_nothing_is_written(aws):
    from botocore.stub import Stubber

    s3 = aws["s3"]
    obj = put_photo(s3)
    with Stubber(s3) as stub:
        stub.add_client_error("copy_object", service_error_code="PreconditionFailed", http_status_code=412)
        with pytest.raises(MetadataNotWritten, match="a newer upload replaced"):
            S3MetadataStore(s3).save(RECORD, obj)


def test_non_ascii_labels_are_percent_encoded_for_s3():
    record = DiagnosisRecord(image="s3://b/k", status="ok", label="Érable_tache noire", confidence=0.5,
                             model_version="v", diagnosed_at="t", latency_ms=1.0)
    meta = diagnosis_metadata(record)
    assert meta["diagnosis-label"] == "%C3%89rable_tache noire"
    assert all(value.isascii() for value in meta.values())


def test_a_claim_answers_whether_these_bytes_are_recorded_or_being_written():
    from handler.domain import Claim, EventKey

    key = EventKey.of("s3://b/k.jpg", None, "e1", None, "m1")
    recorded = Claim(key, "t", {"status": "ok", "etag": "e1", "model_version": "m1"})
    assert recorded.recorded_for("e1", "m1")
    assert not recorded.recorded_for("e2", "m1") and not recorded.recorded_for("e1", "m2")
    assert not Claim(key, "t", {"etag": "e1", "model_version": "m1"}).recorded_for("e1", "m1")  # a bare claim
    live = Claim(key, "t", {"claim_etag": "e1", "claim_until": int(time.time()) + 60})
    expired = Claim(key, "t", {"claim_etag": "e1", "claim_until": int(time.time()) - 1})
    assert live.live_claim_for("e1") and not live.live_claim_for("e2") and not expired.live_claim_for("e1")
    assert not Claim(key).recorded_for("e1", "m1") and not Claim(key).live_claim_for("e1")
