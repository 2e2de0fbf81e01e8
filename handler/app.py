"""Lambda entry point: recognise the event, hand it to its source's handler, report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler.config import Settings
from handler.container import Container
from handler.diagnose import Outcome
from handler.errors import TransientError, UnknownEvent
from handler.observability import logger, metrics, tracer
from handler.sources import s3
from handler.sources.s3 import BadRecord, ObjectRef

ACCEPTED_SHAPES = (
    'S3 notification {"Records": [{"eventSource": "aws:s3", ...}]}',
    'S3 test event {"Service": "Amazon S3", "Event": "s3:TestEvent"}',
)
# Stop starting new records when less than this is left, so nothing is half-written.
SAFETY_MARGIN_MS = 5_000

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
    raise UnknownEvent("unrecognised event; accepted shapes: " + "; ".join(ACCEPTED_SHAPES))


def handle_notification(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Diagnose every record; one bad record never stops the others."""
    outcomes: list[dict[str, Any]] = []
    transient: list[str] = []
    for item in s3.parse_notification(event):
        if isinstance(item, BadRecord):
            logger.error("malformed S3 record", extra={"record_index": item.index, "reason": item.reason})
            metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1)
            outcomes.append({"record_index": item.index, "status": "rejected", "reason": item.reason})
            continue
        if _remaining_ms(context) < SAFETY_MARGIN_MS:
            transient.append(f"{item.uri}: not started, invocation nearly out of time")
            continue
        logger.append_keys(bucket=item.bucket, key=item.key, event_name=item.event_name)
        try:
            outcome = container.diagnoser.diagnose(item)
        except TransientError as exc:
            logger.warning("transient failure; the invocation will fail so Lambda retries", extra={"error": str(exc)})
            transient.append(f"{item.uri}: {exc}")
            continue
        finally:
            logger.remove_keys(["bucket", "key", "event_name"])
        _report(item, outcome)
        outcomes.append({"image": item.uri, "status": outcome.status, "reason": outcome.reason})
    if transient:
        # Lambda retries the whole event; finished records are cheap to redo and write the same result.
        raise TransientError(f"{len(transient)} record(s) need a retry: " + "; ".join(transient))
    return {"status": "done", "results": outcomes}


def _report(ref: ObjectRef, outcome: Outcome) -> None:
    fields = {"bucket": ref.bucket, "key": ref.key, "status": outcome.status}
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
