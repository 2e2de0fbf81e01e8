"""A photo lands in S3; a moment later its diagnosis is stored. Over HTTP, with the real model."""

import json

import pytest

from handler.errors import UnknownEvent
from handler.sources.s3 import decode_s3_key
from local.context import LocalContext
from model.synthetic import LABELS
from tests.conftest import EVENTS
from tests.e2e.conftest import BUCKET, json_lines, stored

SPECIAL_KEYS = [
    "garden-images/e2e/my garden/leaf (1).jpg",
    "garden-images/e2e/a+b=c.jpg",
    "garden-images/e2e/érable/feuille à pois.jpg",
    "garden-images/e2e/100% sure.jpg",
]


def test_known_leaves_come_back_with_their_known_labels(app, s3, deliver, leaf_jpeg):
    keys = {f"garden-images/e2e/known/{label}.jpg": label for label in LABELS}
    for index, (key, _) in enumerate(keys.items()):
        s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(index, seed=610_000), ContentType="image/jpeg")
    deliver()
    for key, label in keys.items():
        item = stored(app, BUCKET, key)
        assert item is not None, key
        assert (item["status"], item["label"]) == ("ok", label)
        assert s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]["diagnosis-label"] == label


def test_keys_with_spaces_plus_percent_and_unicode_are_found(app, s3, deliver, leaf_jpeg):
    for key in SPECIAL_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(3, seed=620_000), ContentType="image/jpeg")
    deliver()
    for key in SPECIAL_KEYS:
        item = stored(app, BUCKET, key)
        assert item is not None and item["label"] == LABELS[3], key


def test_metadata_write_back_does_not_loop(app, s3, deliver, leaf_jpeg):
    key = "garden-images/e2e/loop/leaf.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(2, seed=630_000), ContentType="image/jpeg")
    results = [r for r in deliver() if r["image"].endswith(key)]  # the Put, then the Copy it fired
    assert [r["status"] for r in results] == ["ok", "skipped"]
    # moto's events carry no sequencer, so the Copy looks like a redelivery of the Put ("already
    # recorded"); with S3's sequencers it is recognised by its metadata (tests/reliability covers that).
    assert "own write-back" in results[1]["reason"] or "already recorded" in results[1]["reason"]
    assert deliver() == []  # the skipped Copy wrote nothing, so nothing more was queued


def test_real_phone_photo_gets_a_stored_result(app, s3, deliver, real_photo):
    key = "garden-images/e2e/real/sample_leaf.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=real_photo, ContentType="image/jpeg")
    deliver()
    item = stored(app, BUCKET, key)
    assert item["status"] == "ok" and item["label"] in LABELS
    assert len(item["top_k"]) == 3 and item["latency_ms"] > 0


def test_corrupt_upload_is_recorded_rejected_and_the_invocation_succeeds(app, s3, deliver, leaf_jpeg):
    good, bad = "garden-images/e2e/mixed/good.jpg", "garden-images/e2e/mixed/bad.jpg"
    s3.put_object(Bucket=BUCKET, Key=bad, Body=leaf_jpeg(0)[:300], ContentType="image/jpeg")
    s3.put_object(Bucket=BUCKET, Key=good, Body=leaf_jpeg(4, seed=640_000), ContentType="image/jpeg")
    deliver()
    assert stored(app, BUCKET, bad)["status"] == "rejected"
    assert "truncated" in stored(app, BUCKET, bad)["error"].lower()
    assert stored(app, BUCKET, good)["label"] == LABELS[4]


def test_one_event_with_many_records_processes_every_record(app, s3, leaf_jpeg):
    event = json.loads((EVENTS / "s3-put-special-keys.json").read_text(encoding="utf-8"))
    for record in event["Records"]:
        record["s3"]["bucket"]["name"] = BUCKET
        key = decode_s3_key(record["s3"]["object"]["key"])
        response = s3.put_object(Bucket=BUCKET, Key=key, Body=leaf_jpeg(1, seed=650_000))
        record["s3"]["object"]["eTag"] = response["ETag"].strip('"')
    event["Records"].insert(1, {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}})
    result = app.lambda_handler(event, LocalContext())
    assert [r["status"] for r in result["results"]] == ["ok", "rejected", "ok", "ok", "ok"]


def test_s3_test_event_is_acknowledged(app):
    event = json.loads((EVENTS / "s3-test-event.json").read_text(encoding="utf-8"))
    assert app.lambda_handler(event, LocalContext())["status"] == "acknowledged"


def test_unknown_event_names_the_accepted_shapes(app):
    with pytest.raises(UnknownEvent, match="aws:s3.*s3:TestEvent"):
        app.lambda_handler({"hello": "world"}, LocalContext())


def test_every_log_line_names_the_request_and_object_and_no_bytes(app, s3, deliver, leaf_jpeg):
    import io
    import logging

    from handler.observability import logger

    key = "garden-images/e2e/logs/leaf.jpg"
    body = leaf_jpeg(1, seed=660_000)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="image/jpeg")
    out = io.StringIO()
    capture = logging.StreamHandler(out)
    capture.setFormatter(logger.registered_formatter)  # the very JSON formatter Lambda's lines use
    logger._logger.addHandler(capture)
    try:
        deliver()
    finally:
        logger._logger.removeHandler(capture)
    lines = json_lines(out.getvalue())
    assert len(lines) >= 2, "expected a 'diagnosed' and a 'skipped' line"
    for line in lines:
        assert line["function_request_id"] and line["key"] == key and line["bucket"] == BUCKET
    text = out.getvalue()
    assert body[:32].hex() not in text and repr(body[:32])[2:-1] not in text
    assert "local" not in {str(v) for line in lines for v in line.values()}  # the access key id
