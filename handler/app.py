"""Lambda entry point: recognise the event, hand it to its source's handler, report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler.config import Settings
from handler.container import Container
from handler.diagnose import Outcome
from handler.errors import TransientError, UnknownEvent
from handler.observability import logger, metrics, read_denied, safe_traceback, shorten, tracer
from handler.sources import api, batch_ops, eventbridge, s3, sqs
from handler.sources.s3 import BadRecord, ObjectRef

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

ACCEPTED_SHAPES = (
    'S3 notification {"Records": [{"eventSource": "aws:s3", ...}]}',
    'S3 test event {"Service": "Amazon S3", "Event": "s3:TestEvent"}',
    'API Gateway REST proxy {"httpMethod": ..., "path": ..., "resource": ..., "requestContext": {...}}',
    'SQS batch of S3 events {"Records": [{"eventSource": "aws:sqs", "body": "<S3 event JSON>", ...}]}',
    'EventBridge S3 event {"source": "aws.s3", "detail-type": "Object Created", "detail": {...}}',
    'S3 Batch Operations {"invocationSchemaVersion": "1.0"|"2.0", "invocationId": ..., "tasks": [...]}',
)
# Stop starting new records when less than this is left, so nothing is half-written: a fifth of the
# invocation's time, at most 5 s. A 5 s function then starts records for 4 s, a 900 s one for 895 s.
MAX_START_MARGIN_MS = 5_000
START_MARGIN_FRACTION = 0.2

container = Container(Settings.from_env())
# Load the model and create the AWS clients during init, where Lambda gives full CPU: the first
# invocation then costs what any warm one does (creating the S3 client alone is ~80 ms).
container.diagnoser  # noqa: B018


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    if s3.is_test_event(event):
        logger.info("S3 test event acknowledged", extra={"bucket": event.get("Bucket")})
        return {"status": "acknowledged", "event": "s3:TestEvent"}
    if s3.is_notification(event):
        return handle_notification(event, context)
    if api.is_rest_proxy_event(event):
        return container.api.resolve(event, context)
    if sqs.is_batch(event):
        return handle_queue_batch(event, context)
    if eventbridge.is_object_created(event):
        return handle_eventbridge(event, context)
    if batch_ops.is_job_invocation(event):
        return handle_batch_job(event, context)
    raise UnknownEvent("unrecognised event; accepted shapes: " + "; ".join(ACCEPTED_SHAPES))


def handle_notification(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Diagnose every record; one bad record never stops the others."""
    outcomes: list[dict[str, Any]] = []
    transient: list[str] = []
    parsed = s3.parse_notification(event)
    refs = [item for item in parsed if isinstance(item, ObjectRef)]
    results = iter(diagnose_each(refs, context))
    for item in parsed:
        if isinstance(item, BadRecord):
            _reject_bad_record(item, outcomes)
            continue
        result = next(results)
        if isinstance(result, TransientError):
            transient.append(str(result))
            continue
        outcomes.append(_summary(result))
    if transient:
        # Lambda retries the whole event; finished records are cheap to redo and write the same result.
        raise TransientError(f"{len(transient)} record(s) need a retry: " + "; ".join(transient))
    return {"status": "done", "results": outcomes}


def handle_queue_batch(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Diagnose every message's objects; only the messages that need a retry are reported as failed."""
    messages = {message.message_id: message for message in sqs.parse_batch(event)}
    # Every message's records start now, so the whole batch overlaps; results are read message by message.
    started = {message_id: start_each(m.refs, context) for message_id, m in messages.items()}

    def handle_message(record: SQSRecord) -> None:
        message = messages[record.message_id]
        if message.error:
            fields = {"message_id": record.message_id, "error": message.error}
            logger.error("unreadable SQS message", extra=fields)
            raise ValueError(message.error)  # redelivered until maxReceiveCount, then it waits in the DLQ
        for bad in message.bad_records:
            _reject_bad_record(bad, [])
        results = [finish(ref, future) for ref, future in zip(message.refs, started[message.message_id])]
        failed = [str(r) for r in results if isinstance(r, TransientError)]
        if failed:
            raise TransientError("; ".join(failed))

    return sqs.process_batch(event, handle_message, context)


def handle_eventbridge(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One object per event; a retryable failure raises so EventBridge's async invoke retries it."""
    ref = eventbridge.parse_object_created(event)
    (result,) = diagnose_each([ref], context)
    if isinstance(result, TransientError):
        raise result
    return {"status": "done", "results": [_summary(result)]}


def handle_batch_job(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One result code per task, in the shape S3 Batch Operations writes to its job report."""
    invocation = batch_ops.parse_invocation(event)
    logger.append_keys(batch_job_id=invocation.job_id)
    refs = [task.ref for task in invocation.tasks if task.ref is not None]
    results = iter(diagnose_each(refs, context))
    replies = [batch_ops.task_result(task, next(results) if task.ref else None) for task in invocation.tasks]
    return batch_ops.invocation_response(invocation, replies)


def diagnose_each(refs: Sequence[ObjectRef], context: LambdaContext) -> list[Outcome | TransientError]:
    """Diagnose every record (a few at a time, see RecordPipeline); a TransientError marks one to retry."""
    return [finish(ref, future) for ref, future in zip(refs, start_each(refs, context))]


def start_margin_ms(timeout_ms: int) -> int:
    """How much time must be left to start a record: a fraction of the invocation's time, capped."""
    return min(MAX_START_MARGIN_MS, int(timeout_ms * START_MARGIN_FRACTION))


def start_each(refs: Sequence[ObjectRef], context: LambdaContext) -> list[Future[Outcome]]:
    # The time left now, at the start of the invocation, is the function's Timeout (less init).
    margin = start_margin_ms(_remaining_ms(context))
    return container.pipeline.start(refs, out_of_time=lambda: _remaining_ms(context) < margin)


def finish(ref: ObjectRef, future: Future[Outcome]) -> Outcome | TransientError:
    """Wait for one record, then log and count it here, on the handler's thread, in record order."""
    fields = {"bucket": ref.bucket, "key": shorten(ref.key), "event_name": ref.event_name}
    try:
        outcome = future.result()
    except TransientError as exc:
        logger.warning("transient failure; this record will be retried", extra={**fields, "error": str(exc)})
        return TransientError(f"{ref.uri}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a bug or an unclassified library error: this record alone is retried
        # Not logger.exception(): the exception's own text may quote the upload's bytes.
        logger.error("unexpected error; this record will be retried",
                     extra={**fields, "exception_name": type(exc).__name__, "exception": safe_traceback(exc)})
        metrics.add_metric(name="RecordErrors", unit=MetricUnit.Count, value=1)
        return TransientError(f"{shorten(ref.uri)}: unexpected {type(exc).__name__}")
    _report(ref, outcome)
    return outcome


def _summary(outcome: Outcome) -> dict[str, Any]:
    return {"image": outcome.ref.uri, "status": outcome.status, "reason": outcome.reason}


def _reject_bad_record(item: BadRecord, outcomes: list[dict[str, Any]]) -> None:
    logger.error("malformed S3 record", extra={"record_index": item.index, "reason": item.reason})
    metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1)
    outcomes.append({"record_index": item.index, "status": "rejected", "reason": item.reason})


def _report(ref: ObjectRef, outcome: Outcome) -> None:
    fields = {"bucket": ref.bucket, "key": shorten(ref.key), "status": outcome.status}
    if outcome.metric == "ObjectReadDenied":
        read_denied(ref.bucket, ref.key)
    elif outcome.metric:
        metrics.add_metric(name=outcome.metric, unit=MetricUnit.Count, value=1)
    if outcome.status == "ok" and outcome.record is not None:
        metrics.add_metric(name="ImagesDiagnosed", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="DiagnosisLatency", unit=MetricUnit.Milliseconds, value=outcome.record.latency_ms)
        logger.info(
            "diagnosed",
            extra={**fields, "label": outcome.record.label, "confidence": outcome.record.confidence,
                   "latency_ms": outcome.record.latency_ms, "model_version": outcome.record.model_version},
        )
    elif outcome.status == "rejected":
        metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1)
        logger.warning("rejected", extra={**fields, "error": outcome.reason})
    else:
        metrics.add_metric(name="ImagesSkipped", unit=MetricUnit.Count, value=1)
        logger.info("skipped", extra={**fields, "reason": outcome.reason})


def _remaining_ms(context: LambdaContext) -> int:
    get = getattr(context, "get_remaining_time_in_millis", None)
    return int(get()) if callable(get) else 900_000
