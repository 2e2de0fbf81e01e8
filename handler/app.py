"""Lambda entry point: the event's source parses it, its objects are diagnosed, the source replies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler.config import Settings
from handler.container import Container
from handler.domain import ObjectRef, Outcome
from handler.errors import TransientError
from handler.observability import logger, metrics, read_denied, safe_traceback, shorten, tracer
from handler.sources.dispatch import event_sources, recognise

# Stop starting new records when less than this is left, so nothing is half-written: a fifth of the
# invocation's time, at most 5 s. A 5 s function then starts records for 4 s, a 900 s one for 895 s.
MAX_START_MARGIN_MS = 5_000
START_MARGIN_FRACTION = 0.2

container = Container(Settings.from_env())
# Load the model and create the AWS clients during init, where Lambda gives full CPU: the first
# invocation then costs what any warm one does (creating the S3 client alone is ~80 ms).
container.diagnoser  # noqa: B018
SOURCES = event_sources(resolve_api=lambda event, context: container.api.resolve(event, context))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    source = recognise(event, SOURCES)
    parsed = source.parse(event)
    return source.reply(parsed, diagnose_each(parsed.refs, context), context)


def diagnose_each(refs: Sequence[ObjectRef], context: LambdaContext) -> list[Outcome | TransientError]:
    """Diagnose every record (a few at a time, see RecordPipeline); a TransientError marks one to retry."""
    if not refs:  # an API request or a test event: the pipeline is not needed
        return []
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
    fields = {"bucket": ref.bucket, "key": shorten(ref.key), **ref.log_fields}
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
