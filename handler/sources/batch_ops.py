"""S3 Batch Operations "Invoke Lambda" calls (schema 1.0 and 2.0): recognise, parse, reply per task."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.s3_batch_operation_event import (
    RESULT_CODE_TYPE,
    S3BatchOperationResponseRecord,
)

from handler.domain import ObjectRef, Origin, Outcome
from handler.errors import TransientError
from handler.observability import logger
from handler.sources.s3 import decode_s3_key

SUCCEEDED: RESULT_CODE_TYPE = "Succeeded"
TEMPORARY_FAILURE: RESULT_CODE_TYPE = "TemporaryFailure"
PERMANENT_FAILURE: RESULT_CODE_TYPE = "PermanentFailure"
# The job report keeps resultString; long reasons are cut so one task cannot bloat it.
MAX_RESULT_STRING = 512


@dataclass(frozen=True)
class Task:
    """One manifest line: the object to diagnose, or why the task could not be read."""

    task_id: str
    ref: ObjectRef | None
    error: str | None = None


@dataclass(frozen=True)
class Invocation:
    schema_version: str
    invocation_id: str
    job_id: str
    tasks: tuple[Task, ...]

    @property
    def refs(self) -> tuple[ObjectRef, ...]:
        return tuple(task.ref for task in self.tasks if task.ref is not None)


def is_job_invocation(event: Mapping[str, Any]) -> bool:
    """True for {"invocationSchemaVersion": ..., "invocationId": ..., "tasks": [...]}."""
    return (
        isinstance(event.get("invocationSchemaVersion"), str)
        and "invocationId" in event
        and isinstance(event.get("tasks"), list)
    )


def parse_invocation(event: Mapping[str, Any]) -> Invocation:
    """Every task; one we cannot read becomes a Task with an error (a PermanentFailure in the report)."""
    job = event.get("job") or {}
    return Invocation(
        schema_version=str(event["invocationSchemaVersion"]),
        invocation_id=str(event["invocationId"]),
        job_id=str(job.get("id", "")),
        tasks=tuple(_parse_task(index, task) for index, task in enumerate(event["tasks"])),
    )


def task_result(task: Task, result: Outcome | TransientError | None) -> dict[str, Any]:
    """Succeeded when stored or skipped; PermanentFailure for a rejected image; TemporaryFailure to retry."""
    if task.error is not None or result is None:
        code, text = PERMANENT_FAILURE, f"unreadable task: {task.error}"
    elif isinstance(result, TransientError):
        code, text = TEMPORARY_FAILURE, f"retry: {result}"
    elif result.status == "ok" and result.record is not None:
        code, text = SUCCEEDED, f"ok: {result.record.label} ({result.record.confidence:.3f})"
    elif result.status == "rejected":
        # The rejected record is stored, but the job report must show the object was not diagnosed.
        code, text = PERMANENT_FAILURE, f"rejected: {result.reason}"
    else:
        code, text = SUCCEEDED, f"{result.status}: {result.reason}"
    return S3BatchOperationResponseRecord(task.task_id, code, text[:MAX_RESULT_STRING]).asdict()


def invocation_response(invocation: Invocation, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The reply Batch Operations expects; a task left out of results counts as failed, never as done.

    Written here, not with Powertools' S3BatchOperationResponse: its asdict() refuses more than one result,
    and an invocation that names several tasks must still answer each of them.
    """
    return {
        "invocationSchemaVersion": invocation.schema_version,
        "treatMissingKeysAs": PERMANENT_FAILURE,
        "invocationId": invocation.invocation_id,
        "results": results,
    }


def _parse_task(index: int, task: Any) -> Task:
    task_id = str(task.get("taskId", f"#{index}")) if isinstance(task, Mapping) else f"#{index}"
    try:
        return Task(task_id, _parse_ref(task))
    except (AttributeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        return Task(task_id, None, error=repr(exc))


def _parse_ref(task: Mapping[str, Any]) -> ObjectRef:
    # Schema 2.0 names the bucket; 1.0 gives its ARN, arn:aws:s3:::name.
    bucket = task.get("s3Bucket") or str(task["s3BucketArn"]).rsplit(":", 1)[-1]
    if not bucket:
        raise ValueError("task names no bucket")
    return ObjectRef(
        bucket=str(bucket),
        # Keys arrive as the manifest spells them, URL-encoded, like S3 notification keys. Decoded strictly here:
        # Powertools' task.s3_key replaces a bad escape with U+FFFD, naming another object.
        key=decode_s3_key(str(task["s3Key"])),
        version_id=task.get("s3VersionId") or None,
        event_name=None,
        origin=Origin.BATCH_OPERATIONS,  # no S3 event: the object exists and is diagnosed like a new upload
    )


class JobInvocations:
    """One result code per task, in the shape S3 Batch Operations writes to its job report."""

    shape = 'S3 Batch Operations {"invocationSchemaVersion": "1.0"|"2.0", "invocationId": ..., "tasks": [...]}'

    def recognises(self, event: Mapping[str, Any]) -> bool:
        return is_job_invocation(event)

    def parse(self, event: Mapping[str, Any]) -> Invocation:
        invocation = parse_invocation(event)
        logger.append_keys(batch_job_id=invocation.job_id)  # every line this invocation logs names the job
        return invocation

    def reply(self, parsed: Invocation, results: Sequence[Outcome | TransientError], context: Any) -> dict[str, Any]:
        each = iter(results)
        replies = [task_result(task, next(each) if task.ref else None) for task in parsed.tasks]
        return invocation_response(parsed, replies)


JOB_INVOCATIONS = JobInvocations()
