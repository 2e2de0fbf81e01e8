"""Issue 20.1/20.4/20.9 at the store and source level: the commit is conditioned on what the claim saw,
conditional rejections are never a result to keep, one event twice in an SQS batch is diagnosed once."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from handler.domain import CONDITIONAL, FINAL, DiagnosisRecord, Outcome
from handler.errors import AlreadyRecorded, TransientError
from handler.sources import sqs
from handler.stores import DynamoResultStore
from tests.conftest import EVENTS
from tests.handler.conftest import TABLE

IMAGE = "s3://leaf-images-test/garden-images/current.jpg"
V1 = DiagnosisRecord(image=IMAGE, status="ok", label="Synthleaf_rust", confidence=0.9, model_version="m1",
                     diagnosed_at="2026-12-03T10:00:00.000Z", latency_ms=1.0, etag="e1")
V2 = replace(V1, label="Synthleaf_healthy", etag="e2")


def test_a_result_written_after_the_claim_is_never_overwritten_by_the_claim_holder(aws):
    """The HEAD of the current object comes after the claim: a newer upload's result stored in between
    (after our HEAD, before our put) must make our put fail, not be replaced."""
    store = DynamoResultStore(aws["dynamodb"], TABLE)
    claim = store.claim(V1.event_key)
    store.save(V2, None)  # the newer upload's own event commits while V1's holder is between HEAD and put
    with pytest.raises(AlreadyRecorded):
        store.save(V1, None, claim)
    assert store.get(IMAGE)["label"] == "Synthleaf_healthy"


def test_the_claim_holder_commits_when_nothing_was_written_since_its_claim(aws):
    store = DynamoResultStore(aws["dynamodb"], TABLE)
    store.save(V2, None)
    claim = store.claim(V1.event_key)  # V1 is the current object again (re-uploaded): a new claim sees V2's row
    store.save(V1, None, claim)
    assert store.get(IMAGE)["label"] == "Synthleaf_rust"


@pytest.mark.parametrize(("rejection", "diagnosed_again"), [(CONDITIONAL, True), (FINAL, False)])
def test_only_a_conditional_rejection_lets_the_same_bytes_be_diagnosed_again(aws, rejection, diagnosed_again):
    store = DynamoResultStore(aws["dynamodb"], TABLE)
    rejected = replace(V1, status="rejected", label=None, confidence=None, error="archived", rejection=rejection)
    store.save(rejected, None)
    if not diagnosed_again:
        with pytest.raises(AlreadyRecorded):
            store.claim(V1.event_key)
        return
    claim = store.claim(V1.event_key)  # the same ETag, the same model: once archived, now restored
    store.save(V1, None, claim)
    assert store.get(IMAGE)["status"] == "ok"


def test_one_event_in_two_messages_of_a_batch_is_diagnosed_once_and_neither_is_failed():
    body = (EVENTS / "s3-put.json").read_text(encoding="utf-8")
    records = [{"messageId": f"m{i}", "receiptHandle": "r", "body": body, "attributes": {}, "messageAttributes": {},
                "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
                "awsRegion": "us-east-1"} for i in (1, 2)]
    batch = sqs.BATCHES.parse({"Records": records})
    assert len(json.loads(body)["Records"]) == 1
    assert [len(m.refs) for m in batch.messages] == [1, 0]
    (ref,) = batch.refs
    assert sqs.BATCHES.reply(batch, [Outcome(ref, "ok")], None) == {"batchItemFailures": []}
    # Were the copy diagnosed too, it would meet the first copy's claim, fail, and wait out a visibility timeout.
    assert sqs.BATCHES.reply(batch, [TransientError("x")], None) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def sqs_record(body: dict, message_id: str = "m1") -> dict:
    return {"messageId": message_id, "receiptHandle": "r", "body": json.dumps(body), "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:1:q", "awsRegion": "us-east-1"}


def test_the_buffered_path_hands_on_a_completed_restore_from_s3_and_from_eventbridge():
    s3_event = json.loads((EVENTS / "s3-put.json").read_text(encoding="utf-8"))
    s3_event["Records"][0]["eventName"] = "ObjectRestore:Completed"
    bridge = json.loads((EVENTS / "eventbridge-s3-object-created.json").read_text(encoding="utf-8"))
    bridge["detail-type"] = "Object Restore Completed"
    del bridge["detail"]["reason"]
    batch = sqs.BATCHES.parse({"Records": [sqs_record(s3_event, "m1"), sqs_record(bridge, "m2")]})
    assert [m.error for m in batch.messages] == [None, None]
    assert [ref.event_name for ref in batch.refs] == ["ObjectRestore:Completed"] * 2
    assert all(ref.names_a_created_object for ref in batch.refs)  # diagnosed, never skipped as "not created"
