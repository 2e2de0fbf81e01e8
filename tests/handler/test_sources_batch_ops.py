"""S3 Batch Operations: both schemas parse to the same object; outcomes map to the job report's codes."""

import json

import pytest

from handler.domain import Origin, Outcome
from handler.errors import TransientError
from handler.records import ok_record, rejected_record
from handler.sources import batch_ops
from model.runtime import Prediction
from tests.conftest import EVENTS


def fixture(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def test_schema_1_names_the_bucket_by_arn():
    invocation = batch_ops.parse_invocation(fixture("batch-ops-v1.json"))
    (task,) = invocation.tasks
    assert (invocation.schema_version, invocation.job_id) == ("1.0", "f3cc4f60-61f6-4a2b-8a21-d07600c373ce")
    assert (task.ref.bucket, task.ref.key, task.ref.version_id) == (
        "leaf-images-local",
        "garden-images/backfill/tomato-leaf.jpg",
        None,
    )


def test_schema_2_names_the_bucket_and_the_key_is_url_decoded():
    (task,) = batch_ops.parse_invocation(fixture("batch-ops-v2.json")).tasks
    assert (task.task_id, task.ref.bucket, task.ref.key) == (
        "dGFza2lkZ29lc2hlcmUy",
        "leaf-images-local",
        "garden-images/backfill/my garden/leaf (1).jpg",
    )
    assert (task.ref.origin, task.ref.event_name) == (Origin.BATCH_OPERATIONS, None)


def test_a_task_without_a_key_is_unreadable_not_fatal():
    event = fixture("batch-ops-v2.json")
    del event["tasks"][0]["s3Key"]
    (task,) = batch_ops.parse_invocation(event).tasks
    assert task.ref is None and "s3Key" in task.error
    assert batch_ops.task_result(task, None)["resultCode"] == "PermanentFailure"


def outcome(status: str) -> Outcome:
    (task,) = batch_ops.parse_invocation(fixture("batch-ops-v1.json")).tasks
    if status == "ok":
        prediction = Prediction("Synthleaf_rust", 0.9, (("Synthleaf_rust", 0.9),), "v1")
        return Outcome(task.ref, "ok", record=ok_record(task.ref.uri, prediction, 1.0))
    if status == "rejected":
        return Outcome(
            task.ref, "rejected", "not an image", rejected_record(task.ref.uri, "not an image", "v1", 1.0)
        )
    return Outcome(task.ref, "skipped", "already diagnosed by this model version")


@pytest.mark.parametrize(
    ("result", "code", "text"),
    [
        (outcome("ok"), "Succeeded", "ok: Synthleaf_rust (0.900)"),
        (outcome("skipped"), "Succeeded", "skipped: already diagnosed by this model version"),
        (outcome("rejected"), "PermanentFailure", "rejected: not an image"),
        (TransientError("SlowDown"), "TemporaryFailure", "retry: SlowDown"),
    ],
)
def test_outcomes_become_result_codes(result, code, text):
    (task,) = batch_ops.parse_invocation(fixture("batch-ops-v1.json")).tasks
    assert batch_ops.task_result(task, result) == {
        "taskId": task.task_id,
        "resultCode": code,
        "resultString": text,
    }


def test_the_reply_echoes_the_invocation_and_treats_missing_tasks_as_failed():
    invocation = batch_ops.parse_invocation(fixture("batch-ops-v2.json"))
    reply = batch_ops.invocation_response(invocation, [])
    assert reply == {
        "invocationSchemaVersion": "2.0",
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": "Jr3s8KZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
        "results": [],
    }
